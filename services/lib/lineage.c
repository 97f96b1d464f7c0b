/* lineage — where a batch came from: the graph of events behind it, back to mines and recyclers. */
#include "lineage.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "map.h"
#include "provenance.h"

typedef struct share { /* the recycled share of what an edge carried, when known */
    int known;
    char element[4];             /* the element the share is of: Nd if there is any, else "" (all tracked) */
    uint64_t total_mg, pre_mg, post_mg;
} share;

typedef struct origin { /* how a batch came to be */
    char kind[24], facility[128], country[4], material[64];
    uint64_t mass_mg, index;
    size_t n_in;
    struct {
        char batch[128];
        uint64_t mass_mg;
        share sh;
        int returned; /* end-of-life material of an EXITed batch (RecycleDetail.returns) */
    } in[16];
    size_t n_untracked;
    struct {
        char what[64];
        uint64_t mass_mg;
        int post; /* untracked feedstock: 2 post-consumer, 1 pre-consumer; 0 an untracked input */
    } untracked[4];
    char claimed[128]; /* an EXITed batch the RECYCLE's evidence says came back, or "" */
} origin;

struct mt_lineage {
    mt_map *batches; /* batch id -> origin (the event that made it, or the last that moved it) */
};

mt_lineage *mt_lineage_new(void) {
    mt_lineage *g = calloc(1, sizeof(*g));
    if (g && !(g->batches = mt_map_new())) {
        free(g);
        return NULL;
    }
    return g;
}

void mt_lineage_free(mt_lineage *g) {
    if (!g) return;
    mt_map_free(g->batches, free);
    free(g);
}

/* The recycled share of take_mg cut from p as the ledger cuts it (R2): of Nd when the take holds
 * any, else of all its tracked elements. A return from an exited stock is post-consumer once
 * returned (docs/accounting.md D2), all but the unattributed bucket (XA is never recycled). */
static share cut(const mt_prov *p, uint64_t take_mg, int returned) {
    share sh = {0};
    mt_prov *t = NULL;
    if (!p || take_mg > p->mass_mg || mt_prov_take(p, take_mg, &t, NULL, NULL, 0) || !t) return sh;
    const char *el = mt_prov_sum(t, "Nd", -1, NULL, NULL) ? "Nd" : NULL;
    sh.known = 1;
    snprintf(sh.element, sizeof(sh.element), "%s", el ? el : "");
    sh.total_mg = mt_prov_sum(t, el, -1, NULL, NULL);
    if (returned) {
        sh.post_mg = sh.total_mg - mt_prov_sum(t, el, -1, MT_PROV_UNATTRIBUTED, NULL);
    } else {
        sh.pre_mg = mt_prov_sum(t, el, MT_PROV_PRE_CONSUMER, NULL, NULL);
        sh.post_mg = mt_prov_sum(t, el, MT_PROV_POST_CONSUMER, NULL, NULL);
    }
    mt_prov_free(t);
    return sh;
}

static share share_of(const mt_ledger *l, const char *batch, uint64_t take_mg) {
    return cut(l ? mt_ledger_provenance(l, batch) : NULL, take_mg, 0);
}

static share return_share_of(const mt_ledger *l, const char *batch, uint64_t take_mg) {
    return cut(l ? mt_ledger_exited(l, batch) : NULL, take_mg, 1);
}

static void record(mt_lineage *g, const char *batch, const Mintrace__V1__BatchEvent *ev, const char *material,
                   uint64_t mass, uint64_t index, int is_receive, const mt_ledger *ledger) {
    origin *o = calloc(1, sizeof(*o));
    if (!o) return;
    const char *kind = protobuf_c_enum_descriptor_get_value(&mintrace__v1__event_kind__descriptor, ev->kind)->name;
    snprintf(o->kind, sizeof(o->kind), "%s", kind + strlen("EVENT_KIND_"));
    snprintf(o->facility, sizeof(o->facility), "%s", ev->facility_id);
    snprintf(o->country, sizeof(o->country), "%s", ev->site ? ev->site->country : "");
    snprintf(o->material, sizeof(o->material), "%s", material);
    o->mass_mg = mass;
    o->index = index;
    if (is_receive) { /* custody moved: the batch's earlier story stays under the same id */
        const origin *before = mt_map_get(g->batches, batch, strlen(batch));
        if (before) snprintf(o->material, sizeof(o->material), "%s", before->material);
        o->n_in = 1;
        snprintf(o->in[0].batch, sizeof(o->in[0].batch), "%s#%" PRIu64, batch, index);
        o->in[0].mass_mg = mass;
        o->in[0].sh = share_of(ledger, batch, mass);
        /* keep the previous origin under a versioned key */
        if (before) {
            origin *keep = malloc(sizeof(*keep));
            if (keep) {
                *keep = *before;
                mt_map_put(g->batches, o->in[0].batch, strlen(o->in[0].batch), keep);
            }
        }
    } else {
        for (size_t i = 0; i < ev->n_inputs && o->n_in < 16; i++, o->n_in++) {
            snprintf(o->in[o->n_in].batch, sizeof(o->in[0].batch), "%s", ev->inputs[i]->batch_id);
            o->in[o->n_in].mass_mg = ev->inputs[i]->mass_mg;
            o->in[o->n_in].sh = share_of(ledger, ev->inputs[i]->batch_id, ev->inputs[i]->mass_mg);
        }
        for (size_t r = 0; ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE && r < ev->recycle->n_returns &&
                           o->n_in < 16;
             r++, o->n_in++) {
            const Mintrace__V1__ReturnedInput *ri = ev->recycle->returns[r];
            snprintf(o->in[o->n_in].batch, sizeof(o->in[0].batch), "%s", ri->batch_id);
            o->in[o->n_in].mass_mg = ri->mass_mg;
            o->in[o->n_in].sh = return_share_of(ledger, ri->batch_id, ri->mass_mg);
            o->in[o->n_in].returned = 1;
        }
        for (size_t i = 0; i < ev->n_untracked_inputs && o->n_untracked < 4; i++, o->n_untracked++) {
            snprintf(o->untracked[o->n_untracked].what, 64, "%s", ev->untracked_inputs[i]->material);
            o->untracked[o->n_untracked].mass_mg = ev->untracked_inputs[i]->mass_mg;
        }
        if (ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE && ev->recycle->untracked_feedstock_mass_mg &&
            o->n_untracked < 4) {
            int post = ev->recycle->feedstock == MINTRACE__V1__FEEDSTOCK_CLASS__FEEDSTOCK_CLASS_UNTRACKED_POST_CONSUMER;
            snprintf(o->untracked[o->n_untracked].what, 64, "untracked %s scrap", post ? "post-consumer" : "pre-consumer");
            o->untracked[o->n_untracked].mass_mg = ev->recycle->untracked_feedstock_mass_mg;
            o->untracked[o->n_untracked++].post = post ? 2 : 1;
        }
        if (ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE)
            for (size_t i = 0; i < ev->recycle->n_evidence; i++) {
                const char *uri = ev->recycle->evidence[i]->uri;
                if (uri && strncmp(uri, "mintrace:exit/", 14) == 0) snprintf(o->claimed, sizeof(o->claimed), "%s", uri + 14);
            }
    }
    free(mt_map_put(g->batches, batch, strlen(batch), o));
}

int mt_lineage_add(mt_lineage *g, const void *entry, size_t len) { return mt_lineage_add_with(g, entry, len, NULL); }

int mt_lineage_add_with(mt_lineage *g, const void *entry, size_t len, const mt_ledger *before) {
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, len, entry);
    if (!e) return -1;
    if (e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT) {
        Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
        Mintrace__V1__BatchEvent *ev = env ? mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data) : NULL;
        if (ev) {
            for (size_t o = 0; o < ev->n_outputs; o++)
                record(g, ev->outputs[o]->batch_id, ev, ev->outputs[o]->material, ev->outputs[o]->mass_mg, e->index, 0,
                       before);
            if (ev->kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_RECEIVE)
                for (size_t i = 0; i < ev->n_inputs; i++)
                    record(g, ev->inputs[i]->batch_id, ev, "", ev->inputs[i]->mass_mg, e->index, 1, before);
        }
        if (ev) mintrace__v1__batch_event__free_unpacked(ev, NULL);
        if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    }
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    return 0;
}

static void kg(char *buf, size_t size, uint64_t mg) {
    snprintf(buf, size, "%" PRIu64 ".%03" PRIu64 " kg", mg / 1000000, (mg / 1000) % 1000);
}

/* The batch id a versioned key stands for ("X#12" -> "X"). */
static void plain(char *out, size_t size, const char *key) {
    snprintf(out, size, "%s", key);
    char *h = strchr(out, '#');
    if (h) *h = '\0';
}

/* "12.3 %" of part in whole, rounded half up to a tenth (as `mintrace provenance` rounds). */
static void pct(char *buf, size_t size, uint64_t part, uint64_t whole) {
    uint64_t tenths = whole ? (uint64_t)(((unsigned __int128)part * 2000 + whole) / (2 * whole)) : 0;
    snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " %%", tenths / 10, tenths % 10);
}

/* "12.345 kg" and, when known, ", Nd recycled 10.0 % (pre 10.0 %, post 0.0 %)". */
static void edge_label(char *buf, size_t size, uint64_t mass, const share *sh) {
    char m[32], r[48], pre[48], post[48];
    kg(m, sizeof(m), mass);
    if (!sh || !sh->known || !sh->total_mg) {
        snprintf(buf, size, "%s", m);
        return;
    }
    pct(r, sizeof(r), sh->pre_mg + sh->post_mg, sh->total_mg);
    pct(pre, sizeof(pre), sh->pre_mg, sh->total_mg);
    pct(post, sizeof(post), sh->post_mg, sh->total_mg);
    snprintf(buf, size, "%s, %s%srecycled %s (pre %s, post %s)", m, sh->element, *sh->element ? " " : "", r, pre, post);
}

static void untracked_label(char *buf, size_t size, const origin *o, size_t i) {
    char m[32];
    kg(m, sizeof(m), o->untracked[i].mass_mg);
    snprintf(buf, size, "%s, %s", m,
             o->untracked[i].post == 2   ? "recycled 100.0 % post-consumer"
             : o->untracked[i].post == 1 ? "recycled 100.0 % pre-consumer"
                                         : "not recycled");
}

static void text(const mt_lineage *g, const char *key, uint64_t mass, const share *sh, int depth, FILE *fp) {
    const origin *o = mt_map_get(g->batches, key, strlen(key));
    char label[256], id[128];
    plain(id, sizeof(id), key);
    edge_label(label, sizeof(label), mass, sh);
    fprintf(fp, "%*s%s%s %s", depth * 4, "", depth ? "<- " : "", id, label);
    if (!o || depth > 40) {
        fprintf(fp, "\n");
        return;
    }
    fprintf(fp, "; %s, %s by %s (%s) at entry %" PRIu64 "\n", o->material, o->kind, o->facility, o->country, o->index);
    for (size_t i = 0; i < o->n_untracked; i++) {
        untracked_label(label, sizeof(label), o, i);
        fprintf(fp, "%*s<- %s (untracked) %s\n", (depth + 1) * 4, "", o->untracked[i].what, label);
    }
    if (*o->claimed) {
        fprintf(fp, "%*s<- claimed by its evidence: end-of-life %s (EXITed; booked above as untracked scrap)\n",
                (depth + 1) * 4, "", o->claimed);
        const origin *c = mt_map_get(g->batches, o->claimed, strlen(o->claimed));
        if (c) text(g, o->claimed, c->mass_mg, NULL, depth + 2, fp);
    }
    for (size_t i = 0; i < o->n_in; i++) {
        if (o->in[i].returned)
            fprintf(fp, "%*s<- returned after EXIT (end of life, post-consumer):\n", (depth + 1) * 4, "");
        text(g, o->in[i].batch, o->in[i].mass_mg, &o->in[i].sh, depth + 1 + o->in[i].returned, fp);
    }
}

int mt_lineage_text(const mt_lineage *g, const char *batch, FILE *fp) {
    const origin *o = mt_map_get(g->batches, batch, strlen(batch));
    if (!o) return -1;
    text(g, batch, o->mass_mg, NULL, 0, fp);
    return 0;
}

static void dot(const mt_lineage *g, const char *key, FILE *fp, mt_map *seen, int depth) {
    if (mt_map_get(seen, key, strlen(key)) || depth > 40) return;
    mt_map_put(seen, key, strlen(key), (void *)key);
    const origin *o = mt_map_get(g->batches, key, strlen(key));
    char id[128], label[256];
    plain(id, sizeof(id), key);
    fprintf(fp, "  \"%s\" [shape=box, label=\"%s\\n%s\"];\n", key, id, o ? o->material : "");
    if (!o) return;
    for (size_t i = 0; i < o->n_untracked; i++) {
        untracked_label(label, sizeof(label), o, i);
        fprintf(fp, "  \"%s:u%zu\" [shape=plaintext, label=\"%s\"];\n  \"%s:u%zu\" -> \"%s\" [style=dashed, label=\"%s\"];\n",
                key, i, o->untracked[i].what, key, i, key, label);
    }
    if (*o->claimed) {
        fprintf(fp, "  \"%s\" -> \"%s\" [style=dotted, label=\"claimed return after EXIT\\n(booked as untracked scrap)\"];\n",
                o->claimed, key);
        dot(g, o->claimed, fp, seen, depth + 1);
    }
    for (size_t i = 0; i < o->n_in; i++) {
        edge_label(label, sizeof(label), o->in[i].mass_mg, &o->in[i].sh);
        fprintf(fp, "  \"%s\" -> \"%s\" [%slabel=\"%s %s (%s)%s\\n%s\"];\n", o->in[i].batch, key,
                o->in[i].returned ? "style=bold, " : "", o->kind, o->facility, o->country,
                o->in[i].returned ? ", returned after EXIT" : "", label);
        dot(g, o->in[i].batch, fp, seen, depth + 1);
    }
}

int mt_lineage_dot(const mt_lineage *g, const char *batch, FILE *fp) {
    if (!mt_map_get(g->batches, batch, strlen(batch))) return -1;
    mt_map *seen = mt_map_new();
    if (!seen) return -1;
    fprintf(fp, "digraph lineage {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n");
    dot(g, batch, fp, seen, 0);
    fprintf(fp, "}\n");
    mt_map_free(seen, NULL);
    return 0;
}
