"""The campaign file as a step reads it: afresh on every read, so an edit (a lowered budget) takes
effect at once, but validated once per content. The validated campaign, its defaults applied, is kept
in .ml-metaopt/campaign-cache.json keyed by the digest of the file's bytes, so a step whose campaign
did not change parses no YAML and validates nothing. The cache is written only by the process that
holds the campaign's lock (a read-only command changes nothing), and only once the step wrote the state
(a step that refuses its inputs leaves the project as it was), never for a file that holds a secret (no
file the skill writes may hold one); it carries a digest of its own: a damaged or edited cache is
ignored and the file validated again."""
from __future__ import annotations

import json

from ..contract import validation
from ..contract.atomic_io import write_json_atomic
from ..contract.bounds import max_bytes
from ..contract.campaign import apply_defaults, sha256_bytes, sha256_of
from ..contract.campaign_secrets import campaign_secret_values
from ..contract.paths import CAMPAIGN_FILE
from ..contract.regular_files import FileRefused, read_regular

CAMPAIGN_CACHE = "campaign-cache.json"


class CampaignFile:
    def __init__(self, cdir):
        self.cdir = cdir
        self._seen = None  # (digest of the file, (campaign or None, issues))
        self._unsaved = None  # a cache entry to write once the step wrote the state

    def read(self, writer: bool):
        """(the campaign with its defaults, or None; its issues). `writer`: this process holds the lock."""
        root = self.cdir.root
        try:
            data = read_regular(root / CAMPAIGN_FILE, CAMPAIGN_FILE, max_bytes("campaign"), within=root)
        except FileRefused as exc:
            return None, (exc.issue,)
        digest = sha256_bytes(data)
        if self._seen is None or self._seen[0] != digest:
            self._seen = (digest, self._validated(data, digest, writer))
        return self._seen[1]

    def _validated(self, data, digest, writer):
        cached = self._cached(digest)
        if cached is not None:
            return cached, ()
        document, issues = validation.parse_and_validate("campaign", data, CAMPAIGN_FILE)
        if issues or document is None:
            return None, tuple(issues)
        campaign = apply_defaults(document)
        if writer and not campaign_secret_values(campaign):
            self._unsaved = {"campaign_sha256": digest, "campaign": campaign}
        return campaign, ()

    def save(self) -> None:
        """Write the cache entry of the campaign this process validated (after the state was written)."""
        if self._unsaved is not None:
            entry, self._unsaved = self._unsaved, None
            write_json_atomic(self.cdir.dir / CAMPAIGN_CACHE, dict(entry, digest=sha256_of(entry)))

    def _cached(self, digest):
        """The cached campaign of a file with this digest, or None (no cache, another file, a damaged one)."""
        try:
            entry = json.loads(read_regular(self.cdir.dir / CAMPAIGN_CACHE, CAMPAIGN_CACHE, 4 * max_bytes("campaign"),
                                            within=self.cdir.root))
        except (FileRefused, ValueError, RecursionError):
            return None
        if not isinstance(entry, dict) or entry.get("campaign_sha256") != digest:
            return None
        body = {"campaign_sha256": digest, "campaign": entry.get("campaign")}
        return entry["campaign"] if entry.get("digest") == sha256_of(body) else None
