"""Structural tests of the state machine table, in the style of a state-machine library's own checks."""
import unittest
from collections import Counter, deque

import support  # noqa: F401

from metaopt_lib.contract import machine, schemas


def _reachable(start, edges):
    seen, queue = {start}, deque([start])
    while queue:
        node = queue.popleft()
        for target in edges.get(node, ()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


class MachineStructure(unittest.TestCase):
    def setUp(self):
        self.edges = {}
        for t in machine.TRANSITIONS:
            self.edges.setdefault(t.source, set()).add(t.target)

    def test_fourteen_states_with_fixed_names(self):
        self.assertEqual(len(machine.STATES), 14)
        self.assertEqual(machine.TERMINAL_STATES, {"COMPLETE", "BLOCKED_CONFIG", "BLOCKED_PROTOCOL", "FAILED"})

    def test_exactly_one_initial_state(self):
        initial = [n for n, s in machine.STATES.items() if s.kind == "init"]
        self.assertEqual(initial, [machine.INITIAL_STATE])

    def test_every_state_is_reachable_from_the_initial_state(self):
        self.assertEqual(_reachable(machine.INITIAL_STATE, self.edges), set(machine.STATES))

    def test_every_non_terminal_state_can_reach_a_terminal_state(self):
        for name in machine.RUNNING_STATES:
            with self.subTest(state=name):
                self.assertTrue(_reachable(name, self.edges) & machine.TERMINAL_STATES)

    def test_no_trap_states_every_running_state_has_an_exit(self):
        for name in machine.RUNNING_STATES:
            with self.subTest(state=name):
                self.assertTrue(self.edges.get(name, set()) - {name}, f"{name} can only loop on itself")

    def test_terminal_states_exit_only_by_the_documented_resume(self):
        # BLOCKED states resume anywhere after the fix; COMPLETE only where a raised limit lets it
        # continue (the launch, the analysis of a sweep the budget cut, the iteration close).
        for t in machine.TRANSITIONS:
            if t.source in machine.TERMINAL_STATES:
                with self.subTest(transition=t):
                    if t.source == "COMPLETE":
                        self.assertEqual(t.guard, "resume_after_limit_raised")
                        self.assertIn(t.target, machine.LIMIT_RESUME_STATES)
                    else:
                        self.assertIn(t.source, machine.BLOCKED_STATES)
                        self.assertEqual(t.guard, "resume_after_fix")
                    self.assertNotIn(t.target, machine.TERMINAL_STATES)
        self.assertEqual(self.edges["COMPLETE"], set(machine.LIMIT_RESUME_STATES))
        self.assertNotIn("FAILED", self.edges, "FAILED is final")

    def test_transitions_are_unique_and_guards_are_named(self):
        pairs = Counter((t.source, t.target) for t in machine.TRANSITIONS)
        self.assertEqual([p for p, n in pairs.items() if n > 1], [])
        for t in machine.TRANSITIONS:
            self.assertRegex(t.guard, r"^[a-z][a-z_]+$")
            self.assertIn(t.source, machine.STATES)
            self.assertIn(t.target, machine.STATES)

    def test_every_running_state_has_a_governing_agent_with_a_handoff_script(self):
        for name in machine.RUNNING_STATES:
            with self.subTest(state=name):
                agent = machine.governing_agent(name)
                self.assertIn(agent, machine.CONTROL_AGENTS)
                self.assertRegex(machine.CONTROL_AGENTS[agent], r"^scripts/[a-z_]+_handoff\.py$")

    def test_every_control_agent_governs_a_state(self):
        for agent in machine.CONTROL_AGENTS:
            with self.subTest(agent=agent):
                self.assertTrue(machine.states_governed_by(agent))

    def test_terminal_states_have_no_agent_and_the_stopped_phase(self):
        for name in machine.TERMINAL_STATES:
            self.assertIsNone(machine.governing_agent(name))
            self.assertEqual(machine.phases_of(name), (machine.TERMINAL_PHASE,))

    def test_phases_are_unique_to_their_state(self):
        owners = Counter(p for n in machine.RUNNING_STATES for p in machine.phases_of(n))
        self.assertEqual([p for p, c in owners.items() if c > 1], [])

    def test_status_is_derived_from_the_state(self):
        for name in machine.STATES:
            expected = name if name in machine.TERMINAL_STATES else "RUNNING"
            self.assertEqual(machine.status_for(name), expected)

    def test_terminal_cleanup_covers_every_terminal_state_with_known_directives(self):
        self.assertEqual(set(machine.TERMINAL_CLEANUP), set(machine.TERMINAL_STATES))
        for name, steps in machine.TERMINAL_CLEANUP.items():
            self.assertIn("teardown", steps)
            self.assertIn("remove_agents_hook", steps)
            self.assertTrue(set(steps) <= set(machine.DIRECTIVE_TYPES))
        for name in ("COMPLETE", "BLOCKED_CONFIG", "BLOCKED_PROTOCOL"):
            self.assertIn("emit_final_report", machine.TERMINAL_CLEANUP[name])

    def test_state_work_tables_name_real_states_workers_and_directives(self):
        workers = set(schemas.load_schema("common")["$defs"]["llmWorker"]["enum"])
        for name, lanes in machine.STATE_WORKERS.items():
            self.assertIn(name, machine.RUNNING_STATES)
            self.assertTrue(set(lanes) <= workers)
        for name, directives in machine.STATE_DIRECTIVES.items():
            self.assertIn(name, machine.RUNNING_STATES)
            self.assertTrue(set(directives) <= set(machine.DIRECTIVE_TYPES))


class OwnerMap(unittest.TestCase):
    def setUp(self):
        self.state_fields = set(schemas.load_schema("state")["properties"])

    def test_every_owned_field_exists_in_the_state_schema(self):
        self.assertTrue(set(machine.FIELD_OWNERS) <= self.state_fields,
                        set(machine.FIELD_OWNERS) - self.state_fields)

    def test_every_field_is_either_engine_managed_or_has_exactly_one_owner(self):
        engine = set(machine.ENGINE_FIELDS)
        self.assertEqual(engine & set(machine.FIELD_OWNERS), set())
        self.assertEqual(engine | set(machine.FIELD_OWNERS), self.state_fields)

    def test_owners_are_control_agents(self):
        self.assertTrue(set(machine.FIELD_OWNERS.values()) <= set(machine.CONTROL_AGENTS))

    def test_every_control_agent_owns_a_field(self):
        self.assertEqual(set(machine.FIELD_OWNERS.values()), set(machine.CONTROL_AGENTS))


if __name__ == "__main__":
    unittest.main()
