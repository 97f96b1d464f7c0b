"""consumer.py — a compliance service's view of mintrace, in Python, from the documented wire
formats only (docs/wire-format.md, docs/accounting.md, docs/compliance.md, proto/): it reads the
ledger, checkpoints, receipts and provenance topics with confluent-kafka, verifies every
envelope signature with PyNaCl against the journaled registry, recomputes every leaf hash, the
checkpoints' Merkle roots and the receipts' inclusion proofs (RFC 9162) and the provenance state
root, and recomputes a few provenance figures from the events to compare with the published
ProvenanceRecords. Then it judges every batch by the policy mintrace-comply ran with
(policy_eval.py, from the records and the journal) and checks that the latest finding of every
key on the findings topic is that verdict, and that no key is missing or extra. No mintrace code
is used: message classes are generated from proto/ with protoc at run time.

  python consumer.py --brokers HOST:PORT --prefix PREFIX --governance-key FILE.pub \
      --network ID --policy POLICY.json [--expect-accepted N] [--wait-comply SECONDS]

Prints one line per check and "interop: N passed, N failed"; exits 1 on any failure.
"""
import argparse
import atexit
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, ConsumerGroupTopicPartitions, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient
from google.protobuf import json_format
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def generate_classes():
    """protoc --python_out of proto/ into a temporary folder, imported from there."""
    out = tempfile.mkdtemp(prefix="mintrace-pb2-")
    atexit.register(shutil.rmtree, out, True)
    protos = sorted(glob.glob(os.path.join(ROOT, "proto/mintrace/v1/*.proto")))
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", os.path.join(ROOT, "proto"),
                    "--python_out=" + out] + protos, check=True)
    sys.path.insert(0, out)


generate_classes()
from mintrace.v1 import comply_pb2, envelope_pb2, event_pb2, ledger_pb2, registry_pb2  # noqa: E402  (generated above)

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import policy_eval  # noqa: E402  (tests/interop/policy_eval.py, beside this file)

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("  ok    " + what)
    else:
        failed += 1
        print("  FAIL  " + what)
    return ok


# ---- the documented primitives ----

def blake2b256(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def sha256(data):
    return hashlib.sha256(data).digest()


def key_id(pk):
    """Lowercase hex of the first 16 bytes of BLAKE2b-256 of the Ed25519 public key."""
    return blake2b256(pk)[:16].hex()


def pae(payload_type, payload):
    """DSSE v1 pre-authentication encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def verifies(pk, env, sig):
    try:
        VerifyKey(pk).verify(pae(env.payload_type, env.payload), sig)
        return True
    except BadSignatureError:
        return False


def leaf_hash(index, leaf_type, subject, statement):
    """SHA-256(0x00 | 0x01 | u64 index BE | u8 type | subject | statement) (RFC 9162 leaf)."""
    leaf = b"\x01" + index.to_bytes(8, "big") + bytes([leaf_type]) + subject + statement
    assert len(leaf) == 74
    return sha256(b"\x00" + leaf)


def merkle_root(leaves):
    """RFC 9162 MTH over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:]))


def verify_inclusion(leaf, index, size, path, root):
    """RFC 9162 section 2.1.3.2: is leaf number index of the tree of size leaves with this root?"""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def read_public_key_file(path):
    """mintrace-ed25519-public v1 / 64 hex chars."""
    lines = open(path).read().split("\n")
    if lines[0] != "mintrace-ed25519-public v1" or len(lines[1]) != 64:
        raise SystemExit("%s: not a mintrace public key file" % path)
    return bytes.fromhex(lines[1])


# ---- Kafka ----

def read_topics(brokers, topics):
    """Every committed message of every partition of the topics, from the beginning to the end:
    (topic, partition, offset, key, value), in order within each partition."""
    c = Consumer({"bootstrap.servers": brokers, "group.id": "interop-%d" % os.getpid(),
                  "enable.auto.commit": False, "isolation.level": "read_committed",
                  "enable.partition.eof": True})
    md = c.list_topics(timeout=10)
    parts = []
    for topic in topics:
        if topic not in md.topics or md.topics[topic].error is not None:
            raise SystemExit("%s: no such topic" % topic)
        parts += [(topic, p) for p in sorted(md.topics[topic].partitions)]
    c.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in parts])
    out, at_end, idle = [], set(), 0
    while len(at_end) < len(parts):
        m = c.poll(1.0)
        if m is None:
            idle += 1
            if idle > 30:
                raise SystemExit("%s: no end of partition within 30 s" % ", ".join(topics))
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                at_end.add((m.topic(), m.partition()))
                continue
            raise SystemExit("%s: %s" % (m.topic(), m.error()))
        out.append((m.topic(), m.partition(), m.offset(), m.key(), m.value()))
    c.close()
    return out


def read_topic(brokers, topic):
    """One topic's messages: (partition, offset, key, value)."""
    return [m[1:] for m in read_topics(brokers, [topic])]


def topic_names(brokers):
    c = Consumer({"bootstrap.servers": brokers, "group.id": "interop-%d" % os.getpid()})
    names = list(c.list_topics(timeout=10).topics)
    c.close()
    return names


# ---- the journal ----

class Registry:
    """Every key ever journaled (keys are never deleted): key id -> (public key, facility, role)."""

    def __init__(self, governance_pk):
        self.governance = governance_pk
        self.keys = {}
        self.version = 0

    def apply(self, env_bytes):
        env = envelope_pb2.Envelope.FromString(env_bytes)
        if env.payload_type != "mintrace.v1.Registry" or not env.signatures:
            return False
        s = env.signatures[0]
        if s.key_id != key_id(self.governance) or not verifies(self.governance, env, s.sig):
            return False
        reg = registry_pb2.Registry.FromString(env.payload)
        for f in reg.facilities:
            for k in f.keys:
                if k.key_id != key_id(k.public_key):
                    return False
                self.keys[k.key_id] = (k.public_key, f.facility_id, f.role, k)
        self.version = reg.version
        if reg.next_governance_public_key:
            self.governance = reg.next_governance_public_key
        return True

    def valid_at(self, kid, t):
        """Is the key valid at notary time t (docs/ledger.md rule 3)?"""
        k = self.keys[kid][3]
        return ((not k.valid_from_ms or t >= k.valid_from_ms) and (not k.valid_until_ms or t < k.valid_until_ms)
                and (not k.revoked_at_ms or t < k.revoked_at_ms))

    def check(self, env, role, t=None):
        """Does env's first signature verify with a registry key of a facility in role (valid at
        notary time t, when given)? Returns the facility id or None."""
        if not env.signatures:
            return None
        s = env.signatures[0]
        k = self.keys.get(s.key_id)
        if not k or k[2] != role or not verifies(k[0], env, s.sig):
            return None
        if t is not None and not self.valid_at(s.key_id, t):
            return None
        return k[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--governance-key", required=True)
    ap.add_argument("--network", required=True)
    ap.add_argument("--policy", required=True, help="the policy file mintrace-comply runs with")
    ap.add_argument("--expect-accepted", type=int)
    ap.add_argument("--wait-comply", type=float, default=60,
                    help="seconds to wait for comply to commit past every input (default 60)")
    a = ap.parse_args()
    R = registry_pb2.FacilityRole

    # -- ledger: leaves, registry, signatures --
    ledger = read_topic(a.brokers, a.prefix + "ledger")
    reg = Registry(read_public_key_file(a.governance_key))
    leaves, events, bad_leaf, bad_sig, bad_att, bad_reg = [], [], [], [], [], []
    counts = {"event": 0, "rejection": 0, "registry_change": 0, "duplicate": 0}
    for n, (_, _, key, value) in enumerate(ledger):
        e = ledger_pb2.LedgerEntry.FromString(value)
        if e.index != n or key != n.to_bytes(8, "big"):
            check(False, "ledger entry %d has index %d, key %s" % (n, e.index, key))
            return
        which = e.WhichOneof("entry")
        counts[which] += 1
        if which == "event":
            env = envelope_pb2.Envelope.FromString(e.event.envelope)
            att_env = envelope_pb2.Envelope.FromString(e.event.attestation)
            att = envelope_pb2.Attestation.FromString(att_env.payload)
            ev = event_pb2.BatchEvent.FromString(env.payload)
            eid = blake2b256(env.payload)
            leaf = leaf_hash(e.index, 1, eid, blake2b256(e.event.attestation))
            # the first signature is the facility's, by a key of the facility the event names
            k = reg.keys.get(env.signatures[0].key_id) if env.signatures else None
            if not (env.payload_type == "mintrace.v1.BatchEvent" and k and k[1] == ev.facility_id
                    and env.signatures[0].role == envelope_pb2.SIGNER_ROLE_FACILITY
                    and verifies(k[0], env, env.signatures[0].sig)
                    and reg.valid_at(env.signatures[0].key_id, att.notary_time_ms)):
                bad_sig.append(e.index)
            notary = reg.check(att_env, R.Value("FACILITY_ROLE_NOTARY"), att.notary_time_ms)
            if not (notary and att_env.payload_type == "mintrace.v1.Attestation" and att.event_id == eid
                    and att.envelope_hash == blake2b256(e.event.envelope) and att.network_id == a.network
                    and ev.network_id == a.network):
                bad_att.append(e.index)
            events.append((e.index, eid, ev))
        elif which == "rejection":
            rej = ledger_pb2.Rejection.FromString(e.rejection)
            leaf = leaf_hash(e.index, 2, blake2b256(rej.original), blake2b256(e.rejection))
        elif which == "registry_change":
            env = envelope_pb2.Envelope.FromString(e.registry_change)
            leaf = leaf_hash(e.index, 3, blake2b256(env.payload), blake2b256(e.registry_change))
            if not reg.apply(e.registry_change):
                bad_reg.append(e.index)
        else:
            leaf = leaf_hash(e.index, 4, e.duplicate.event_id, blake2b256(e.duplicate.attested))
        if leaf != e.leaf_hash:
            bad_leaf.append(e.index)
        leaves.append(leaf)
    check(len(ledger) > 0, "ledger: %d entries, indexes 0..%d gap-free, keyed by index (%s)"
          % (len(ledger), len(ledger) - 1, ", ".join("%d %s" % (v, k) for k, v in counts.items())))
    check(not bad_leaf, "every leaf hash recomputed from the documented 74-byte leaf%s"
          % (": differ at %s" % bad_leaf[:5] if bad_leaf else ""))
    check(counts["registry_change"] > 0 and not bad_reg,
          "registry versions signed by the governance key (%d, version %d now)%s"
          % (counts["registry_change"], reg.version, ": bad at %s" % bad_reg if bad_reg else ""))
    check(not bad_sig, "facility signatures (DSSE PAE, Ed25519) of %d accepted events verify with the "
          "registry key of the event's facility, valid at notary time%s" % (len(events), ": bad at %s" % bad_sig[:5] if bad_sig else ""))
    check(not bad_att, "notary attestations verify (a NOTARY key) and name each event id, envelope hash and "
          "network%s" % (": bad at %s" % bad_att[:5] if bad_att else ""))
    if a.expect_accepted is not None:
        check(len(events) == a.expect_accepted, "%d accepted events, expected %d" % (len(events), a.expect_accepted))
    # the verifier can say no: one flipped bit of a signature, of a leaf
    if events:
        e = ledger_pb2.LedgerEntry.FromString(ledger[events[0][0]][3])
        env = envelope_pb2.Envelope.FromString(e.event.envelope)
        sig = bytearray(env.signatures[0].sig)
        sig[10] ^= 1
        k = reg.keys[env.signatures[0].key_id]
        check(not verifies(k[0], env, bytes(sig)), "a signature with one bit flipped does not verify")
    if len(leaves) > 1:
        tampered = list(leaves)
        tampered[1] = bytes([tampered[1][0] ^ 1]) + tampered[1][1:]
        check(merkle_root(tampered) != merkle_root(leaves), "a leaf with one bit flipped changes the root")

    # -- checkpoints: aggregator signature, RFC 9162 root over the recomputed leaves --
    cps = read_topic(a.brokers, a.prefix + "checkpoints")
    newest, bad_cp = None, []
    for _, off, _, value in cps:
        env = envelope_pb2.Envelope.FromString(value)
        cp = ledger_pb2.Checkpoint.FromString(env.payload)
        ok = (env.payload_type == "mintrace.v1.Checkpoint"
              and env.signatures and env.signatures[0].role == envelope_pb2.SIGNER_ROLE_AGGREGATOR
              and reg.check(env, R.Value("FACILITY_ROLE_AGGREGATOR")) is not None
              and cp.network_id == a.network and cp.tree_size <= len(leaves)
              and merkle_root(leaves[:cp.tree_size]) == cp.root)
        if not ok:
            bad_cp.append(off)
        newest = cp
    check(cps and not bad_cp, "%d checkpoints: aggregator signature verifies and root = MTH of the recomputed "
          "leaves%s" % (len(cps), ": bad at offsets %s" % bad_cp[:5] if bad_cp else ""))
    check(newest is not None and newest.tree_size == len(leaves),
          "the newest checkpoint covers the whole journal (%s of %d entries)"
          % (newest.tree_size if newest else "none", len(leaves)))

    # -- receipts: aggregator-signed, with an RFC 9162 inclusion proof of the deciding entry --
    receipts, bad_rc, statuses, flipped = 0, [], {}, None
    rtopics = sorted(x for x in topic_names(a.brokers) if x.startswith(a.prefix + "receipts"))
    if rtopics:
        for t, _, off, _, value in read_topics(a.brokers, rtopics):
            env = envelope_pb2.Envelope.FromString(value)
            rc = ledger_pb2.Receipt.FromString(env.payload)
            receipts += 1
            status = ledger_pb2.ReceiptStatus.Name(rc.status)
            statuses[status] = statuses.get(status, 0) + 1
            entry = ledger_pb2.LedgerEntry.FromString(ledger[rc.ledger_index][3]) if rc.ledger_index < len(ledger) else None
            named = entry is not None and (
                (status == "RECEIPT_STATUS_ACCEPTED" and entry.WhichOneof("entry") == "event"
                 and blake2b256(envelope_pb2.Envelope.FromString(entry.event.envelope).payload) == rc.event_id)
                or (status == "RECEIPT_STATUS_DUPLICATE" and entry.WhichOneof("entry") == "duplicate"
                    and entry.duplicate.event_id == rc.event_id)
                or (status == "RECEIPT_STATUS_REJECTED" and entry.WhichOneof("entry") == "rejection"))
            if not (env.payload_type == "mintrace.v1.Receipt" and named
                    and reg.check(env, R.Value("FACILITY_ROLE_AGGREGATOR")) is not None
                    and rc.tree_size <= len(leaves)
                    and verify_inclusion(leaves[rc.ledger_index], rc.ledger_index, rc.tree_size,
                                         list(rc.inclusion_proof), merkle_root(leaves[:rc.tree_size]))):
                bad_rc.append("%s@%d" % (t, off))
            elif flipped is None and rc.inclusion_proof:
                path = list(rc.inclusion_proof)
                path[0] = bytes([path[0][0] ^ 1]) + path[0][1:]
                flipped = verify_inclusion(leaves[rc.ledger_index], rc.ledger_index, rc.tree_size, path,
                                           merkle_root(leaves[:rc.tree_size]))
    check(receipts and not bad_rc, "%d receipts (%s): aggregator signature verifies, each names its ledger entry, "
          "and its inclusion proof verifies against the recomputed tree%s"
          % (receipts, ", ".join("%d %s" % (v, k[15:].lower()) for k, v in sorted(statuses.items())),
             ": bad %s" % bad_rc[:3] if bad_rc else ""))
    check(flipped is False, "an inclusion proof with one bit flipped does not verify")

    # -- provenance: the state root, and figures recomputed from the events --
    prov = read_topic(a.brokers, a.prefix + "provenance")
    latest = {}  # batch id -> (record bytes, record); per key, the last one of its partition
    for _, _, key, value in prov:
        r = ledger_pb2.ProvenanceRecord.FromString(value)
        if key.decode() != r.batch_id:
            check(False, "provenance record keyed %r is of %s" % (key, r.batch_id))
        latest[r.batch_id] = (value, r)
    order = sorted(latest, key=lambda b: latest[b][1].state_position)
    check([latest[b][1].state_position for b in order] == list(range(len(order))),
          "the %d batches' state positions are 0..%d, one each" % (len(order), len(order) - 1))
    state = [sha256(b"\x00" + len(b.encode()).to_bytes(4, "big") + b.encode() + sha256(latest[b][0]))
             for b in order]
    check(newest is not None and merkle_root(state) == newest.provenance_root,
          "provenance_root of the newest checkpoint = Merkle root over the %d batches' latest records, "
          "in state_position order" % len(latest))
    replay_and_compare(events, latest, reg)
    compare_findings(a, ledger, prov, events)

    print("interop: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def share(e, m, big_m):
    """R2: the element content of a take of m mg from a batch of big_m mg holding e mg, rounded
    half up; exactly e when m == big_m."""
    if m == big_m:
        return e
    q, r = divmod(e * m, big_m)
    return q + (1 if 2 * r >= big_m else 0)


def replay_and_compare(events, latest, reg):
    """Masses, holders and element totals of every batch by replaying the events with the
    documented rules (docs/ledger.md effects, docs/accounting.md R2), against the latest records;
    and the recycled and origin shares of second-generation magnets (D1-D4)."""
    K = event_pb2.EventKind
    untracked_els = {"O", "H", "C", "N"}
    batches = {}  # id -> dict(mass, holder, transit, els, last)
    sites = {}
    for index, eid, ev in events:
        sites[eid] = ev.site.country
        kind = K.Name(ev.kind)
        for i in ev.inputs:
            b = batches[i.batch_id]
            if kind == "EVENT_KIND_TRANSFER":
                b["holder"], b["transit"] = ev.transfer.destination_facility_id, True
            elif kind == "EVENT_KIND_RECEIVE":
                lost = b["mass"] - i.mass_mg
                b["els"] = {el: e - share(e, lost, b["mass"]) for el, e in b["els"].items()}
                b["mass"], b["holder"], b["transit"] = i.mass_mg, ev.facility_id, False
            else:
                b["els"] = {el: e - share(e, i.mass_mg, b["mass"]) for el, e in b["els"].items()}
                b["mass"] -= i.mass_mg
            b["last"] = index
        if kind == "EVENT_KIND_CORRECTION":
            return check(False, "replay: corrections are not replayed here (the simulator makes none)")
        for o in ev.outputs:
            batches[o.batch_id] = {"mass": o.mass_mg, "holder": ev.facility_id, "transit": False, "last": index,
                                   "els": {x.element: x.mass_mg for x in o.elements if x.element not in untracked_els}}
    bad = []
    for bid, b in batches.items():
        if bid not in latest:
            bad.append("%s has no record" % bid)
            continue
        r = latest[bid][1]
        got = {"mass": r.mass_mg, "holder": r.holder_facility_id, "transit": r.in_transit, "last": r.ledger_index,
               "els": {x.element: x.total_mg for x in r.elements if x.total_mg}}
        want = dict(b, els={k: v for k, v in b["els"].items() if v})
        if got != want:
            bad.append("%s: record %s, replay %s" % (bid, got, want))
    check(batches and not bad, "%d batches: mass, holder, in transit, element totals and ledger index of the "
          "latest record = a replay of the events%s" % (len(batches), ": " + "; ".join(bad[:3]) if bad else ""))

    # second-generation magnets (docs/simulate.md): recovered oxide blended with virgin oxide the
    # maker kept, plus untracked iron and boron. D2: tracked swarf recycled elsewhere is
    # pre-consumer (no returns in this run: nothing post-consumer); D3: extraction countries are
    # the mines'; D4: processed where refined or recycled; D5: untracked iron and boron are XU;
    # every split sums to the total.
    mine_countries, plant_countries, bad = set(), set(), []
    for index, eid, ev in events:
        kind = K.Name(ev.kind)
        if kind == "EVENT_KIND_EXTRACT":
            mine_countries.add(ev.site.country)
        elif kind in ("EVENT_KIND_RECYCLE", "EVENT_KIND_PROCESS"):
            plant_countries.add(ev.site.country)
    mags = [b for b in latest if "-MAG2-" in b]
    for bid in mags:
        for x in latest[bid][1].elements:
            ext = {c.country: c.mass_mg for c in x.extraction}
            proc = {c.country: c.mass_mg for c in x.processing}
            if x.element in ("Fe", "B"):
                want = (x.untracked_mg == x.total_mg and ext == {"XU": x.total_mg} and proc == {"XU": x.total_mg}
                        and x.recycled_pre_consumer_mg == 0)
            else:
                want = (0 < x.recycled_pre_consumer_mg <= x.total_mg and x.recycled_post_consumer_mg == 0
                        and sum(ext.values()) == x.total_mg and set(ext) <= mine_countries
                        and sum(proc.values()) == x.total_mg and set(proc) <= plant_countries)
            if not want:
                bad.append("%s %s: %s" % (bid, x.element, str(x).replace("\n", " ")))
    check(mags and not bad, "%d second-generation magnet lots: rare earths partly pre-consumer recycled, none "
          "post-consumer, mined in the mines' countries, processed in the plants'; iron and boron untracked%s"
          % (len(mags), ": " + "; ".join(bad[:2]) if bad else ""))


def committed(brokers, group, parts):
    """The consumer group's committed offsets of the (topic, partition)s (negative when none);
    read with the admin API, so this process never joins the group nor commits for it."""
    admin = AdminClient({"bootstrap.servers": brokers})
    req = ConsumerGroupTopicPartitions(group, [TopicPartition(t, p) for t, p in parts])
    res = admin.list_consumer_group_offsets([req])[group].result(timeout=10)
    return {(tp.topic, tp.partition): tp.offset for tp in res.topic_partitions}


def wait_comply(a, inputs):
    """Waits until comply's consumer group (<prefix>comply, docs/compliance.md section 4) has
    committed past the last message of every partition of its inputs: then every finding of
    those inputs is committed on the findings topic. inputs: topic -> messages read
    (partition, offset, key, value). Returns how long it waited, or None on a timeout."""
    need = {}
    for topic, msgs in inputs.items():
        for p, off, _, _ in msgs:
            need[(topic, p)] = max(need.get((topic, p), 0), off + 1)
    group = a.prefix + "comply"
    start = time.monotonic()
    while True:
        got = committed(a.brokers, group, need)
        behind = {tp: (got.get(tp), n) for tp, n in need.items() if got.get(tp, -1) < n}
        if not behind:
            return time.monotonic() - start
        if time.monotonic() - start > a.wait_comply:
            print("  (comply's committed offsets behind the inputs, (topic, partition): (committed, needed): %s)"
                  % behind)
            return None
        time.sleep(0.5)


def finding_verdict(f):
    """A Finding as a policy_eval.Verdict: its fields but the sentence, enums without prefix."""
    def name(enum, v, prefix):
        return enum.Name(v)[len(prefix):] if v in enum.values() else "?%d" % v
    return policy_eval.Verdict(
        f.batch_id, f.rule_id, f.policy_id, name(comply_pb2.RuleKind, f.rule_kind, "RULE_KIND_"),
        name(comply_pb2.FindingStatus, f.status, "FINDING_STATUS_"), name(comply_pb2.Severity, f.severity, "SEVERITY_"),
        f.ledger_index, f.material, f.measured_mg, f.basis_mg, f.measured_ppm, f.threshold_ppm)


def compare_findings(a, ledger, prov, events):
    """The findings topic against the verdicts computed here (policy_eval.py) from the provenance
    records and the journal's events, once comply has committed past all of them."""
    policy = policy_eval.load_policy(a.policy)
    docs = any(r["kind"] == "documents" for r in policy["rules"])
    # comply reads the ledger only when the policy has a documents rule (docs/compliance.md)
    inputs = {a.prefix + "provenance": prov}
    if docs:
        inputs[a.prefix + "ledger"] = ledger
    waited = wait_comply(a, inputs)
    check(waited is not None, "comply has committed past every record of %s (waited %.1f s)"
          % (" and ".join(sorted(inputs)), waited or a.wait_comply))

    records = [json_format.MessageToDict(ledger_pb2.ProvenanceRecord.FromString(v), preserving_proto_field_name=True)
               if v is not None else None for _, _, _, v in prov]
    evs = [policy_eval.Event(index, event_pb2.EventKind.Name(ev.kind)[len("EVENT_KIND_"):],
                             [i.batch_id for i in ev.inputs] + [r.batch_id for r in ev.recycle.returns],
                             [(o.batch_id, o.material) for o in ev.outputs],
                             [(d.kind, len(d.sha256)) for d in ev.documents])
           for index, _, ev in events]
    expected = {k: v[-1] for k, v in policy_eval.expected_findings(policy, records, evs).items()}

    latest, bad_key, counts = {}, [], {"PASS": 0, "FAIL": 0}
    findings = read_topic(a.brokers, a.prefix + "findings")
    for _, off, key, value in findings:
        v = finding_verdict(comply_pb2.Finding.FromString(value or b""))
        k = v.batch_id + "#" + v.rule_id
        if key is None or key.decode() != k or v.policy_id != policy["policy_id"]:
            bad_key.append("@%d %r: %s of policy %s" % (off, key, k, v.policy_id))
        counts[v.status] = counts.get(v.status, 0) + 1
        latest[k] = v  # a key is in one partition: the last one read is the latest
    check(findings and not bad_key, "%d findings (%s): each keyed \"<batch>#<rule>\" of its value, of policy %s%s"
          % (len(findings), ", ".join("%d %s" % (n, s) for s, n in sorted(counts.items())), policy["policy_id"],
             ": bad %s" % bad_key[:3] if bad_key else ""))
    missing = sorted(set(expected) - set(latest))
    extra = sorted(set(latest) - set(expected))
    check(expected and not missing and not extra,
          "every one of the %d (batch, rule) keys with a verdict has a finding, and no finding is of another key%s%s"
          % (len(expected), ": missing %s" % missing[:3] if missing else "", "; extra %s" % extra[:3] if extra else ""))
    differ = ["%s: finding %s, computed %s" % (k, tuple(latest[k]), tuple(expected[k]))
              for k in sorted(set(expected) & set(latest)) if latest[k] != expected[k]]
    check(latest and not differ, "the latest finding of each key = the verdict computed here from the records and the "
          "journal: status, ledger index, measured, basis, ppm, threshold, severity, rule kind, material%s"
          % (": " + "; ".join(differ[:3]) if differ else ""))
    per_rule = {}
    for v in latest.values():
        per_rule.setdefault(v.rule_id, {"PASS": 0, "FAIL": 0})[v.status] += 1
    for r in policy["rules"]:
        c = per_rule.get(r["id"], {"PASS": 0, "FAIL": 0})
        print("  rule %s: %d PASS, %d FAIL" % (r["id"], c["PASS"], c["FAIL"]))
    verdicts = [v.status for v in latest.values()]
    check("PASS" in verdicts and "FAIL" in verdicts, "the policy passes some lots and fails others (%d PASS, %d FAIL "
          "latest)" % (verdicts.count("PASS"), verdicts.count("FAIL")))
    print("findings: %d messages on %d keys" % (len(findings), len(latest)))


if __name__ == "__main__":
    main()
