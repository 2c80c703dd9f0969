"""The report's PNG charts: the optimization history (history.png), parameter importance
(importance.png) and a slice view of the best iteration (best-iteration.png).

Each chart is drawn headless on a Figure of its own with matplotlib's Agg canvas (pyplot and the
process-wide backend are never touched) and written atomically. matplotlib is imported only here,
when drawing, so the rest of the skill runs without it. The same input gives the same bytes (no
timestamp or software name in the PNG). A chart that cannot be drawn comes back with the reason
and the others are still drawn; nothing here raises for what the data is."""
from __future__ import annotations

import io
import math
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace

from ..contract.atomic_io import write_bytes_atomic
from ..heuristic.evidence import MIN_TRIALS_FOR_IMPORTANCE, Evidence
from . import chart_data as data

# file: the PNG's name in out_dir or None; points: how many data points were plotted;
# error: why it was not drawn, or None
Chart = namedtuple("Chart", "name file points error")
CHART_NAMES = ("history", "importance", "best-iteration")
MISSING_MATPLOTLIB = "matplotlib is not installed: pip install matplotlib"
DATA_GID = "data"  # the artists whose markers or bars are the plotted data points
DPI = 100
MAX_SLICES = 12
SLICE_COLUMNS = 3
PNG_METADATA = {"Software": None}  # no software name (PNG from Agg has no timestamp unless asked)


class NotDrawn(Exception):
    """Why a chart is not drawn (the data does not support it)."""


def draw_charts(out_dir: Path, trials: list, iterations: list, objective: dict) -> list:
    """One Chart per name in CHART_NAMES, in that order; each drawn one is written to out_dir."""
    out_dir = Path(out_dir)
    try:
        mpl = load_matplotlib()
    except ImportError:
        return [_not_drawn(out_dir, name, MISSING_MATPLOTLIB) for name in CHART_NAMES]
    builders = {"history": history_figure, "importance": importance_figure,
                "best-iteration": best_iteration_figure}
    return [_draw(out_dir, name, builders[name], mpl, trials, iterations, objective) for name in CHART_NAMES]


def load_matplotlib() -> SimpleNamespace:
    """The matplotlib classes the charts need; ImportError when matplotlib is missing."""
    import matplotlib  # first, so a missing matplotlib fails here even with submodules cached
    import matplotlib.backends.backend_agg
    import matplotlib.figure
    import matplotlib.ticker

    return SimpleNamespace(Figure=matplotlib.figure.Figure, Canvas=matplotlib.backends.backend_agg.FigureCanvasAgg,
                           NullFormatter=matplotlib.ticker.NullFormatter)


def _draw(out_dir, name, build, mpl, trials, iterations, objective) -> Chart:
    try:
        figure = build(mpl, trials, iterations, objective)
        points = count_points(figure)
        png = png_bytes(figure)
    except NotDrawn as reason:
        return _not_drawn(out_dir, name, str(reason))
    except Exception as exc:  # a drawing error must not cost the report its text or the other charts
        return _not_drawn(out_dir, name, f"drawing failed: {type(exc).__name__}: {exc}")
    try:
        write_bytes_atomic(out_dir / f"{name}.png", png)
    except OSError as exc:
        return Chart(name, None, 0, f"could not write {name}.png: {exc.strerror or exc}")
    return Chart(name, f"{name}.png", points, None)


def _not_drawn(out_dir, name, reason) -> Chart:
    try:  # an older drawing of this chart would show data the report no longer has
        (out_dir / f"{name}.png").unlink(missing_ok=True)
    except OSError:
        pass
    return Chart(name, None, 0, reason)


def new_figure(mpl, width: float, height: float):
    figure = mpl.Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    mpl.Canvas(figure)
    return figure


def png_bytes(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata=PNG_METADATA)
    return buffer.getvalue()


def count_points(figure) -> int:
    """The data points drawn: the markers of every DATA_GID collection and every DATA_GID bar."""
    total = 0
    for ax in figure.axes:
        total += sum(len(c.get_offsets()) for c in ax.collections if c.get_gid() == DATA_GID)
        total += sum(1 for patch in ax.patches if patch.get_gid() == DATA_GID)
    return total


def metric_label(objective: dict) -> str:
    better = "higher" if objective["direction"] == "maximize" else "lower"
    return f"{_text(objective['metric'])} ({better} is better)"


def history_figure(mpl, trials, iterations, objective):
    """Every trial with a metric (hollow: not finished), the best so far, the adopted baseline and
    a line where each iteration starts."""
    points = data.points(trials)
    if not points:
        raise NotDrawn("no trial has a metric value yet")
    figure = new_figure(mpl, 10, 5.5)
    ax = figure.add_subplot()
    _scatter(ax, points, "trial", size=18)
    end = len(trials) + 0.5
    best = data.best_so_far(trials, objective["direction"])
    if best:
        xs, ys = [x for x, _ in best] + [end], [y for _, y in best] + [best[-1][1]]
        ax.step(xs, ys, where="post", color="C1", linewidth=1.6, label="best so far (finished trials)")
    steps = data.baseline_steps(trials, iterations)
    if steps:
        xs, ys = [x for x, _ in steps], [y for _, y in steps]
        ax.step(xs + [max(end, xs[-1])], ys + [ys[-1]], where="post", color="C2", linestyle="--",
                linewidth=1.6, label="adopted baseline (set at iteration ends)")
    for x, iteration in data.boundaries(trials):
        ax.axvline(x, color="0.65", linewidth=0.8, zorder=1)
        ax.text(x, 0.98, f" iteration {iteration}", transform=ax.get_xaxis_transform(), rotation=90,
                va="top", ha="right", fontsize=7, color="0.35")
    ax.set_xlim(0, end + 0.5)
    ax.set_xlabel("trial number (campaign order)")
    ax.set_ylabel(metric_label(objective))
    ax.set_title(f"Optimization history of {_text(objective['metric'])}: {len(points)} trials with a metric")
    figure.legend(loc="outside lower center", ncols=4, fontsize=8)
    return figure


def importance_figure(mpl, trials, iterations, objective):
    """Optuna's PED-ANOVA importance of each swept parameter over the finished trials, largest on top."""
    dims = data.importance_dims(iterations)
    rows = [dict(t, state=t.get("state"), params=t.get("params") or {}, metric_value=data.metric_of(t))
            for t in trials]
    evidence = Evidence({"trials": rows}, objective["direction"])
    scores = evidence.importance(dims) if dims else None
    if scores is None:
        raise NotDrawn(f"too few trials for parameter importance: it needs {MIN_TRIALS_FOR_IMPORTANCE} finished "
                       f"trials with a metric and at least two swept parameters; the campaign has "
                       f"{len(evidence.ranked)} finished trials and {len(dims)} parameters")
    used = sum(all(dims[n].contains(r["params"].get(n)) for n in scores) for r in evidence.ranked)
    order = sorted(scores, key=lambda n: (-scores[n], n))
    figure = new_figure(mpl, 7, 1.4 + 0.45 * len(order))
    ax = figure.add_subplot()
    bars = ax.barh(range(len(order)), [scores[n] for n in order], color="C0", gid=DATA_GID)
    ax.bar_label(bars, labels=[f"{scores[n]:.0%}" for n in order], padding=3, fontsize=8)
    ax.set_yticks(range(len(order)), labels=[_text(n) for n in order])
    ax.invert_yaxis()
    ax.set_xlim(0, max(1.0, max(scores.values()) * 1.15))
    ax.set_xlabel("importance (Optuna PED-ANOVA; sums to 100%)")
    ax.set_title(f"Parameter importance for {_text(objective['metric'])} over {used} finished trials")
    return figure


def best_iteration_figure(mpl, trials, iterations, objective):
    """One subplot per swept parameter of the iteration holding the best finished trial: the metric
    against the parameter's value for that iteration's trials, the best trial starred."""
    found = data.best_trial(trials, objective["direction"])
    if found is None:
        raise NotDrawn("no finished trial has a metric value yet")
    iteration = found[1].get("iteration")
    record = next((r for r in iterations if r.get("iteration") == iteration), None)
    slices = [s for s in data.slices(trials, iteration, record.get("space") if record else None,
                                     objective["direction"]) if s.points]
    if not slices:
        raise NotDrawn(f"iteration {iteration} has no swept parameter recorded with its trials")
    shown = slices[:MAX_SLICES]
    columns = min(SLICE_COLUMNS, len(shown))
    rows = math.ceil(len(shown) / columns)
    figure = new_figure(mpl, 3.4 * columns, 2.8 * rows + 0.7)
    first = None
    for index, piece in enumerate(shown):
        ax = figure.add_subplot(rows, columns, index + 1, sharey=first)
        first = first or ax
        _scatter(ax, piece.points, "trial", size=22)
        if piece.best is not None:
            ax.scatter([piece.best[0]], [piece.best[1]], marker="*", s=180, color="C3", edgecolors="black",
                       linewidths=0.6, zorder=4, label="best trial")
        if piece.kind == "cat":
            labels = [_text(str(v))[:16] for v in piece.categories]
            ax.set_xticks(range(len(labels)), labels=labels, rotation=30 if len(labels) > 3 else 0, fontsize=8)
            ax.set_xlim(-0.5, len(labels) - 0.5)
        elif piece.log:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(mpl.NullFormatter())  # labelled minor ticks overlap on a narrow range
        ax.set_xlabel(_text(piece.name) + (" (log scale)" if piece.log else ""))
        if index % columns == 0:
            ax.set_ylabel(metric_label(objective), fontsize=8)
    more = f" (the first {MAX_SLICES} of {len(slices)} parameters)" if len(slices) > MAX_SLICES else ""
    figure.suptitle(f"Iteration {iteration}, the best: {_text(objective['metric'])} against each swept "
                    f"parameter{more}", fontsize=10)
    handles, labels = first.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8)
    return figure


def _scatter(ax, points, label, size):
    """Finished trials filled, the others (pruned, stopped, ...) hollow: both are data points."""
    finished = [p for p in points if p.finished]
    other = [p for p in points if not p.finished]
    if finished:
        ax.scatter([p.x for p in finished], [p.value for p in finished], s=size, color="C0", zorder=3,
                   label=f"{label} (finished)", gid=DATA_GID)
    if other:
        ax.scatter([p.x for p in other], [p.value for p in other], s=size, facecolors="none", edgecolors="C0",
                   zorder=3, label=f"{label} (pruned, stopped, ...)", gid=DATA_GID)


def _text(value: str) -> str:
    """A name as literal text (a "$" would start matplotlib's math mode)."""
    return str(value).replace("$", r"\$")
