/* cmd_keys — mintrace keygen and mintrace registry: key pairs and the signed registry file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "kafka.h"
#include "commands.h"
#include "log.h"
#include "registry.h"
#include "service.h"

int cmd_keygen(int argc, char **argv) {
    static const mt_option opts[] = {{0}};
    mt_service s;
    int rc = mt_service_init(&s, "mintrace keygen", "FILE   (writes FILE, mode 0600, and FILE.pub; "
                             "prints the key id and public key as JSON)", opts, 0, argc, argv);
    if (rc >= 0) return rc;
    rc = MT_EXIT_USAGE;
    if (s.argi != argc - 1) {
        mt_log_error("give exactly one FILE");
        goto out;
    }
    mt_keypair kp;
    char err[512], *b64;
    if (mt_keypair_generate(&kp) || mt_keypair_save(&kp, argv[s.argi], err, sizeof(err))) {
        mt_log_error("%s", err);
        mt_keypair_wipe(&kp);
        rc = MT_EXIT_FAIL;
        goto out;
    }
    /* The public half in the JSON form a registry's FacilityKey takes. */
    Mintrace__V1__FacilityKey fk = MINTRACE__V1__FACILITY_KEY__INIT;
    fk.key_id = kp.key_id;
    fk.public_key = (ProtobufCBinaryData){MT_PK_LEN, kp.pk};
    b64 = mt_message_to_json_text(&fk.base, err, sizeof(err));
    mt_keypair_wipe(&kp);
    if (!b64) goto out;
    printf("%s\n", b64);
    free(b64);
    rc = MT_EXIT_OK;
out:
    mt_service_release(&s);
    return rc;
}

/* mintrace registry sign|show */
int cmd_registry(int argc, char **argv) {
    static const mt_option opts[] = {
        {"key", 'k', 1, "key.file", "sign: the governance secret key file"},
        {"output", 'o', 1, "output", "sign: where to write the signed registry"},
        {"governance-key", 'g', 1, "governance.key", "show: the governance public key file"},
        {0},
    };
    mt_service s;
    int rc = mt_service_init(&s, "mintrace registry",
                             "sign -k GOVERNANCE_KEY -o OUT REGISTRY.json\n"
                             "       mintrace registry show -g GOVERNANCE_KEY.pub REGISTRY\n"
                             "       mintrace registry publish -g GOVERNANCE_KEY.pub REGISTRY   (to the registry topic)",
                             opts, 0, argc, argv);
    if (rc >= 0) return rc;
    rc = MT_EXIT_USAGE;
    char err[512];
    size_t len;
    char *text = NULL;
    uint8_t *out = NULL;
    if (s.argi != argc - 2 ||
        (strcmp(argv[s.argi], "sign") && strcmp(argv[s.argi], "show") && strcmp(argv[s.argi], "publish"))) {
        mt_log_error("usage: registry sign|show|publish FILE (try --help)");
        goto done;
    }
    const char *file = argv[s.argi + 1];
    if (!(text = mt_read_file(file, &len))) {
        mt_log_error("%s: cannot read", file);
        goto done;
    }
    if (!strcmp(argv[s.argi], "show") || !strcmp(argv[s.argi], "publish")) {
        unsigned char gov[MT_PK_LEN];
        const char *g = mt_config_get(s.cfg, "governance.key");
        if (!g || mt_pubkey_load(gov, g, err, sizeof(err))) {
            mt_log_error("%s", g ? err : "show and publish need -g GOVERNANCE_KEY.pub");
            goto done;
        }
        mt_registry *reg = mt_registry_from_envelope(text, len, file, gov, NULL, err, sizeof(err));
        if (!reg) {
            mt_log_error("%s", err);
            rc = MT_EXIT_FAIL;
            goto done;
        }
        if (!strcmp(argv[s.argi], "publish")) { /* the aggregator journals it, in order with the events */
            char topic[200];
            const Mintrace__V1__Registry *r = mt_registry_snapshot(reg);
            rd_kafka_conf_t *conf = mt_config_get(s.cfg, "brokers")
                                        ? mt_kafka_conf_new(mt_config_get(s.cfg, "brokers"), mt_config_kafka_props(s.cfg),
                                                            err, sizeof(err))
                                        : NULL;
            rd_kafka_t *rk = conf ? mt_kafka_producer_new(conf, NULL, -1, err, sizeof(err)) : NULL;
            rc = rk && mt_kafka_produce_sync(rk, mt_service_topic(&s, "registry", topic, sizeof(topic)), r->network_id,
                                             strlen(r->network_id), text, len, 30000, err, sizeof(err)) == 0
                     ? MT_EXIT_OK
                     : MT_EXIT_FAIL;
            if (rc)
                mt_log_error("%s", conf || mt_config_get(s.cfg, "brokers") ? err : "publish needs -b BROKERS");
            else
                mt_log_info("registry version %llu of %s published to %s", (unsigned long long)r->version,
                            r->network_id, topic);
            if (rk) rd_kafka_destroy(rk);
            mt_registry_destroy(reg);
            goto done;
        }
        Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, len, (uint8_t *)text);
        Mintrace__V1__Registry *r = mintrace__v1__registry__unpack(NULL, env->payload.len, env->payload.data);
        char *j = mt_message_to_json_text(&r->base, err, sizeof(err));
        printf("%s\n", j ? j : err);
        free(j);
        mintrace__v1__registry__free_unpacked(r, NULL);
        mintrace__v1__envelope__free_unpacked(env, NULL);
        mt_registry_destroy(reg);
        rc = MT_EXIT_OK;
        goto done;
    }
    const char *key = mt_config_get(s.cfg, "key.file"), *output = mt_config_get(s.cfg, "output");
    if (!key || !output) {
        mt_log_error("sign needs -k GOVERNANCE_KEY and -o OUT");
        goto done;
    }
    Mintrace__V1__Registry *r = (Mintrace__V1__Registry *)mt_json_text_to_message(&mintrace__v1__registry__descriptor,
                                                                                  text, len, err, sizeof(err));
    if (!r) {
        mt_log_error("%s: %s", file, err);
        goto done;
    }
    mt_keypair gov;
    if (mt_keypair_load(&gov, key, err, sizeof(err)) == 0) {
        if (mt_registry_sign(r, &gov, &out, &len, err, sizeof(err)) == 0) {
            /* check it loads as every service will load it */
            mt_registry *reg = mt_registry_from_envelope(out, len, file, gov.pk, NULL, err, sizeof(err));
            FILE *fp = reg ? fopen(output, "wb") : NULL;
            int written = fp && fwrite(out, 1, len, fp) == len;
            if (fp && fclose(fp)) written = 0;
            if (written) {
                rc = MT_EXIT_OK;
                mt_log_info("%s: registry version %llu of network %s, %zu facilities", output,
                            (unsigned long long)r->version, r->network_id, r->n_facilities);
            } else {
                mt_log_error("%s%s", reg ? "cannot write " : "", reg ? output : err);
                rc = MT_EXIT_FAIL;
            }
            mt_registry_destroy(reg);
        } else {
            mt_log_error("%s", err);
        }
    } else {
        mt_log_error("%s", err);
    }
    mt_keypair_wipe(&gov);
    mintrace__v1__registry__free_unpacked(r, NULL);
done:
    free(text);
    free(out);
    mt_service_release(&s);
    return rc;
}
