/* cmd_simulate — mintrace simulate: a deterministic rare-earth chain, its keys and registry,
 * and (with --emit) its signed events on events.submitted. The registry goes on its topic with
 * `mintrace registry publish OUT/registry.bin`, as any registry does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "event.h"
#include "kafka.h"
#include "log.h"
#include "service.h"
#include "simulate.h"

/* Writes every simulated facility's key, the governance key and the signed registry to dir. */
static int write_network(uint64_t seed, const char *network, const char *dir, char *err, size_t errlen) {
    char path[400];
    const mt_sim_facility *f;
    size_t n = mt_sim_facilities(&f);
    snprintf(path, sizeof(path), "%s/keys", dir);
    if ((mkdir(dir, 0755) && errno != EEXIST) || (mkdir(path, 0700) && errno != EEXIST)) {
        snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i <= n; i++) {
        mt_keypair kp;
        const char *id = i < n ? f[i].id : "governance";
        snprintf(path, sizeof(path), "%s/keys/%s", dir, id);
        int rc = mt_sim_key(seed, id, &kp) || mt_keypair_save(&kp, path, err, errlen);
        mt_keypair_wipe(&kp);
        if (rc) return -1;
    }
    uint8_t *reg;
    size_t len;
    if (mt_sim_registry(seed, network, &reg, &len)) {
        snprintf(err, errlen, "cannot make the registry");
        return -1;
    }
    snprintf(path, sizeof(path), "%s/registry.bin", dir);
    FILE *fp = fopen(path, "wb");
    int ok = fp && fwrite(reg, 1, len, fp) == len;
    if (fp && fclose(fp)) ok = 0;
    free(reg);
    if (!ok) snprintf(err, errlen, "%.300s: cannot write", path);
    return ok ? 0 : -1;
}

/* Reads an integer setting if it is there; 0, or -1 with err. */
static int get_long(mt_service *s, const char *key, long *v, char *err, size_t errlen) {
    return mt_config_get(s->cfg, key) && mt_config_get_int(s->cfg, key, v, err, errlen) ? -1 : 0;
}

/* What the journal must say once every event is decided, in `mintrace journal`'s own words. */
static void print_expected(const mt_sim_counts *c) {
    printf("expect: %zu accepted, %zu rejected", c->accepted, c->rejected);
    const char *sep = " (";
    for (int k = 0; k < MT_SIM_CODES; k++) {
        if (!c->by_code[k]) continue;
        printf("%s%s %zu", sep, mt_reason_name((mt_reason)k), c->by_code[k]);
        sep = ", ";
    }
    if (*sep == ',') putchar(')');
    if (c->duplicates) printf(", %zu duplicate%s", c->duplicates, c->duplicates == 1 ? "" : "s");
    putchar('\n');
}

int cmd_simulate(int argc, char **argv) {
    static const mt_option opts[] = {
        {"seed", 0, 1, "sim.seed", "the seed: the same seed gives the same chain, keys and bytes (default 1)"},
        {"chains", 'n', 1, "sim.chains", "closed loops mine -> ... -> second-generation magnets (default 10)"},
        {"out", 'o', 1, "sim.out", "write the keys and the signed registry to this folder"},
        {"returns", 0, 1, "sim.returns", "percent of loops whose magnets come back as end-of-life scrap 10 years on "
                                         "(default 30)"},
        {"corrections", 0, 1, "sim.corrections", "percent of loops with a double entry voided by a CORRECTION (default 2)"},
        {"adversarial", 0, 1, "sim.adversarial", "percent of loops carrying one attack, every reason code in turn "
                                                 "(default 0)"},
        {"emit", 0, 0, "sim.emit", "produce every event to the brokers (publish the registry first: "
                                   "mintrace registry publish)"},
        {0},
    };
    mt_service s;
    int rc = mt_service_init(&s, "mintrace simulate", "[--seed N] [--chains N] [--returns PCT] [--corrections PCT] [--adversarial PCT] [--out DIR] [--emit]", opts, 0, argc, argv);
    if (rc >= 0) return rc;
    char err[512], topic[200];
    long seed = 1, chains = 10, returns = 30, corrections = 2, adversarial = 0;
    rc = MT_EXIT_USAGE;
    if (get_long(&s, "sim.seed", &seed, err, sizeof(err)) || get_long(&s, "sim.chains", &chains, err, sizeof(err)) ||
        get_long(&s, "sim.returns", &returns, err, sizeof(err)) ||
        get_long(&s, "sim.corrections", &corrections, err, sizeof(err)) ||
        get_long(&s, "sim.adversarial", &adversarial, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    if (chains < 0 || chains > 1000000 || returns < 0 || returns > 100 || corrections < 0 || corrections > 100 ||
        adversarial < 0 || adversarial > 100) {
        mt_log_error("--chains is 0..1000000 and --returns, --corrections, --adversarial are percentages (0..100)");
        goto out;
    }
    const char *network = mt_config_get(s.cfg, "network.id"), *dir = mt_config_get(s.cfg, "sim.out");
    int emit = mt_config_get_bool(s.cfg, "sim.emit");
    if (emit && !mt_config_get(s.cfg, "brokers")) {
        mt_log_error("--emit needs -b BROKERS");
        goto out;
    }
    rc = MT_EXIT_FAIL;
    if (dir && write_network((uint64_t)seed, network, dir, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    /* dated so that the last event (returns come MT_SIM_LIFETIME_MS later) is not in the future:
     * a loop is at most ~25 events a minute apart */
    mt_sim_opts o = {(int)chains, (int)returns, (int)corrections, (int)adversarial};
    int64_t start = mt_now_ms() - 86400000LL - chains * 30LL * 60000 - (returns ? MT_SIM_LIFETIME_MS : 0);
    mt_sim *sim = mt_sim_new_opts((uint64_t)seed, network, &o, start);
    rd_kafka_t *rk = NULL;
    if (!sim) {
        mt_log_error("cannot simulate: out of memory");
        goto out;
    }
    if (emit) {
        rd_kafka_conf_t *conf = mt_kafka_conf_new(mt_config_get(s.cfg, "brokers"), mt_config_kafka_props(s.cfg), err,
                                                  sizeof(err));
        rk = conf ? mt_kafka_producer_new(conf, NULL, -1, err, sizeof(err)) : NULL;
        if (!rk) {
            mt_log_error("%s", err);
            mt_sim_free(sim);
            goto out;
        }
    }
    uint8_t *env;
    size_t len, n = 0;
    const char *fac;
    int r;
    mt_service_topic(&s, "events.submitted", topic, sizeof(topic));
    while ((r = mt_sim_next(sim, &env, &len, &fac)) == 1) {
        /* the facility is the key, partitioned as Java clients do (murmur2), like emit */
        if (emit && mt_kafka_produce_sync(rk, topic, fac, strlen(fac), env, len, 30000, err, sizeof(err))) {
            mt_log_error("%s", err);
            free(env);
            r = -1;
            break;
        }
        free(env);
        n++;
    }
    mt_sim_counts c;
    mt_sim_expected(sim, &c);
    mt_sim_free(sim);
    if (rk) rd_kafka_destroy(rk);
    if (r < 0) goto out;
    printf("simulated %ld closed loops (seed %ld): %zu events%s%s%s\n", chains, seed, n, emit ? " produced to " : "",
           emit ? topic : "", dir ? "; keys and registry.bin written" : "");
    printf("  %zu magnet lots back as end-of-life scrap, %zu corrections, %zu attacks\n", c.returns, c.corrections,
           c.attacks);
    print_expected(&c);
    if (c.park_waiting)
        printf("  %zu of them wait for the park bound: an aggregator with --park-max-age below %zu decides them\n",
               c.park_waiting, c.park_tail);
    rc = MT_EXIT_OK;
out:
    mt_service_release(&s);
    return rc;
}
