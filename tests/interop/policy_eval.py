"""policy_eval.py — mintrace-comply's verdicts computed a second time, independently, in plain
Python from nothing but the documented formats: the policy language (docs/compliance.md §1),
the ProvenanceRecord figures and the journal's events (docs/wire-format.md). No mintrace code
and no protobuf package: tests/e2e/test_comply.sh runs it with the system python3 on the JSON
lines of `mintrace inspect -e` (journal events decoded by event_from_envelope below), and
tests/interop/consumer.py on messages decoded with classes generated from proto/.

  policy = load_policy(path)
  verdicts = expected_findings(policy, records, events)   # "<batch>#<rule>" -> [Verdict, ...]

records: ProvenanceRecords in the order of their partition, each a dict in the protobuf JSON
mapping with the proto's field names (what `mintrace inspect provenance -e` prints and what
json_format.MessageToDict(..., preserving_proto_field_name=True) gives): uint64 figures as
numbers or decimal strings, absent when 0; None for a tombstone (no verdict).
events: the journal's accepted events in ledger order, each an Event (below).
"""
import json
from collections import defaultdict, namedtuple

PPM = 10 ** 6
U64_MAX = 2 ** 64 - 1

# EventKind of proto/mintrace/v1/event.proto, by number (a policy names them without the prefix)
EVENT_KINDS = ["UNSPECIFIED", "EXTRACT", "PROCESS", "MANUFACTURE", "RECYCLE", "SPLIT", "MERGE", "TRANSFER",
               "RECEIVE", "LOSS", "EXIT", "CORRECTION", "BALANCE"]

# One journaled event, as far as documents rules look at it: its ledger index, its kind's name
# ("EXTRACT"), its inputs' batch ids (and a RECYCLE's returned EXITed batches), its outputs as (batch id, material), its documents as
# (kind, length of the sha256 field).
Event = namedtuple("Event", "index kind inputs outputs documents")

# One finding as comply must write it: the fields of mintrace.v1.Finding but the sentence
# (detail), enums by their names without prefix ("RECYCLED_SHARE", "PASS", "ERROR").
Verdict = namedtuple("Verdict", "batch_id rule_id policy_id rule_kind status severity ledger_index material "
                                "measured_mg basis_mg measured_ppm threshold_ppm")


def load_policy(path):
    """The policy file as JSON. comply has validated it already (it refuses to start otherwise);
    only what the evaluation relies on is checked here."""
    with open(path) as f:
        policy = json.load(f)
    for r in policy["rules"]:
        if r["kind"] not in ("recycled_share", "country_share", "chain_complete", "documents"):
            raise ValueError("%s: rule %s: unknown kind %r" % (path, r["id"], r["kind"]))
    return policy


def applies(rule, material):
    """A rule without materials judges every material."""
    return "materials" not in rule or (material or "") in rule["materials"]


def threshold(rule):
    return rule.get("min_ppm", rule.get("max_ppm", 0)) if rule["kind"] != "documents" else 0


def _n(v):
    return int(v) if v is not None else 0


def _verdict(policy, rule, batch, material, ok, index, measured, basis, measured_ppm):
    return Verdict(batch, rule["id"], policy["policy_id"], rule["kind"].upper(), "PASS" if ok else "FAIL",
                   rule["severity"].upper(), index, material or "", min(measured, U64_MAX), min(basis, U64_MAX),
                   min(measured_ppm, U64_MAX), threshold(rule))


def judge_share(policy, rule, rec):
    """One recycled_share, country_share or chain_complete rule on one record; None when there is
    no verdict (the rule's elements are absent: basis 0)."""
    measured = basis = 0
    for e in rec.get("elements", []):
        if "elements" in rule and e["element"] not in rule["elements"]:
            continue
        basis += _n(e.get("total_mg"))
        if rule["kind"] == "recycled_share":
            if rule["class"] in ("pre_consumer", "any"):
                measured += _n(e.get("recycled_pre_consumer_mg"))
            if rule["class"] in ("post_consumer", "any"):
                measured += _n(e.get("recycled_post_consumer_mg"))
        elif rule["kind"] == "country_share":
            where = e.get("processing" if rule["stage"] == "processed" else "extraction", [])
            measured += sum(_n(c.get("mass_mg")) for c in where if c.get("country") in rule["countries"])
        else:
            measured += _n(e.get("unattributed_mg")) + _n(e.get("untracked_mg"))
    if basis == 0:
        return None
    # exact integers: measured x 10^6 against threshold x basis (docs/compliance.md)
    if rule["kind"] == "recycled_share":
        ok = measured * PPM >= threshold(rule) * basis
    else:
        ok = measured * PPM <= threshold(rule) * basis
    return _verdict(policy, rule, rec["batch_id"], rec.get("material"), ok, _n(rec.get("ledger_index")),
                    measured, basis, measured * PPM // basis)


def judge_record(policy, rec):
    """The share verdicts of one provenance record, in the policy's rule order. A record of mass
    0 (used up, exited) or a tombstone has none: the batch's last verdict stands."""
    if rec is None or _n(rec.get("mass_mg")) == 0:
        return []
    out = []
    for rule in policy["rules"]:
        if rule["kind"] == "documents" or not applies(rule, rec.get("material")):
            continue
        v = judge_share(policy, rule, rec)
        if v:
            out.append(v)
    return out


class Documents:
    """The documents rules over the journal: per batch and rule, 0 when its lineage is clean,
    else 1 + the ledger index of the nearest event lacking the documents."""

    def __init__(self, policy):
        self.policy = policy
        self.rules = [r for r in policy["rules"] if r["kind"] == "documents"]
        self.lack = {}      # (batch id, rule id) -> 0 or 1 + ledger index
        self.material = {}  # batch id -> the material it was made as

    @staticmethod
    def has_documents(rule, ev):
        """A document counts when pinned by its SHA-256 (32 bytes); require any or all kinds."""
        found = sum(1 for k in rule["documents"] if any(dk == k and n == 32 for dk, n in ev.documents))
        return found == len(rule["documents"]) if rule["require"] == "all" else found > 0

    def _finding(self, rule, batch, material, lack, index):
        return _verdict(self.policy, rule, batch, material, lack == 0, lack - 1 if lack else index,
                        1 if lack else 0, 1, PPM if lack else 0)

    def event(self, ev):
        """The documents verdicts an event gives, in the order comply writes them (per rule, per
        output; or per rule, per input for an event without outputs)."""
        out = []
        if not self.rules or ev.kind == "UNSPECIFIED":
            return out
        for batch, material in ev.outputs:
            self.material.setdefault(batch, material)
        for rule in self.rules:
            lacking = ev.kind in rule["event_kinds"] and not self.has_documents(rule, ev)
            if ev.outputs:
                # an output's lineage: this event, else the nearest lacking event behind its inputs
                lack = ev.index + 1 if lacking else max([self.lack.get((i, rule["id"]), 0) for i in ev.inputs] + [0])
                for batch, material in ev.outputs:
                    self.lack[(batch, rule["id"])] = lack
                    if applies(rule, material):
                        out.append(self._finding(rule, batch, material, lack, ev.index))
            elif lacking:
                # a custody move or write-off without the documents: the batch itself moved
                for batch in ev.inputs:
                    if self.lack.get((batch, rule["id"]), 0):
                        continue  # failing already: its finding stands
                    self.lack[(batch, rule["id"])] = ev.index + 1
                    material = self.material.setdefault(batch, "")
                    if applies(rule, material):
                        out.append(self._finding(rule, batch, material, ev.index + 1, ev.index))
        return out


def expected_findings(policy, records, events):
    """Every verdict comply must write, per finding key "<batch id>#<rule id>", in the order it
    writes them: share rules from the records, documents rules from the events."""
    expected = defaultdict(list)
    for rec in records:
        for v in judge_record(policy, rec):
            expected[v.batch_id + "#" + v.rule_id].append(v)
    docs = Documents(policy)
    for ev in events:
        for v in docs.event(ev):
            expected[v.batch_id + "#" + v.rule_id].append(v)
    return expected


# ---- the journal's events from the protobuf wire format, without a protobuf package ----
# (proto/mintrace/v1/*.proto: Envelope.payload = 2; BatchEvent.kind = 6, inputs = 7, outputs = 8,
# documents = 10, recycle = 23; BatchInput.batch_id = 1; BatchOutput.batch_id = 1, material = 2;
# Document.kind = 1, sha256 = 3; RecycleDetail.returns = 5; ReturnedInput.batch_id = 1)

def wire_fields(buf):
    """field number -> [values] of one protobuf message: varints as ints, length-delimited as bytes."""
    out, i = defaultdict(list), 0

    def varint():
        nonlocal i
        v = s = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7f) << s
            s += 7
            if b < 0x80:
                return v
    while i < len(buf):
        tag = varint()
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            out[num].append(varint())
        elif wt == 2:
            n = varint()
            out[num].append(buf[i:i + n])
            i += n
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        else:
            raise ValueError("wire type %d at byte %d" % (wt, i))
    return out


def _first(f, num, default):
    return f[num][0] if f[num] else default


def event_from_envelope(index, envelope):
    """The Event of an AttestedEvent's envelope bytes journaled at ledger index index."""
    ev = wire_fields(wire_fields(envelope)[2][0])
    kind = _first(ev, 6, 0)
    docs = [wire_fields(b) for b in ev[10]]
    # returned EXITed material is lineage like an input (docs/accounting.md D2)
    returns = [b for r in ev[23] for b in wire_fields(r)[5]]
    return Event(index, EVENT_KINDS[kind] if kind < len(EVENT_KINDS) else "UNKNOWN-%d" % kind,
                 [_first(wire_fields(b), 1, b"").decode() for b in ev[7] + returns],
                 [(_first(o, 1, b"").decode(), _first(o, 2, b"").decode()) for o in map(wire_fields, ev[8])],
                 [(_first(d, 1, b"").decode(), len(_first(d, 3, b""))) for d in docs])
