/* cmd_seal — mintrace seal: sign one JSON event exactly as written (seq and prev included) and
 * write the envelope's bytes; for tests, tooling and hand-made corrections, never for the
 * normal path (emit numbers and chains events itself and keeps them in its write-ahead file). */
#include <stdio.h>
#include <stdlib.h>

#include "codec.h"
#include "commands.h"
#include "event.h"
#include "log.h"
#include "service.h"

int cmd_seal(int argc, char **argv) {
    static const mt_option opts[] = {
        {"key", 'k', 1, "key.file", "the facility's secret key file"},
        {"output", 'o', 1, "output", "where to write the envelope (default stdout)"},
        {0},
    };
    mt_service s;
    int rc = mt_service_init(&s, "mintrace seal", "-k KEY [-o OUT] EVENT.json   (signs the event as it is)", opts,
                             MT_NEED_KEY, argc, argv);
    if (rc >= 0) return rc;
    rc = MT_EXIT_USAGE;
    char err[512], *text = NULL;
    size_t len, plen, elen;
    uint8_t *payload = NULL, *env = NULL;
    Mintrace__V1__BatchEvent *ev = NULL;
    if (s.argi != argc - 1) {
        mt_log_error("give one EVENT.json (- for stdin)");
        goto out;
    }
    if (!(text = mt_read_file(argv[s.argi], &len))) {
        mt_log_error("%s: cannot read", argv[s.argi]);
        goto out;
    }
    ev = (Mintrace__V1__BatchEvent *)mt_json_text_to_message(&mintrace__v1__batch_event__descriptor, text, len, err,
                                                             sizeof(err));
    if (!ev) {
        mt_log_error("%s: %s", argv[s.argi], err);
        goto out;
    }
    rc = MT_EXIT_FAIL;
    payload = mt_message_pack(&ev->base, &plen);
    if (!payload || mt_envelope_seal(&s.key, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, MT_PAYLOAD_EVENT, payload,
                                     plen, &env, &elen))
        goto out;
    const char *output = mt_config_get(s.cfg, "output");
    FILE *fp = output ? fopen(output, "wb") : stdout;
    int ok = fp && fwrite(env, 1, elen, fp) == elen;
    if (fp && fp != stdout && fclose(fp)) ok = 0;
    if (!ok) {
        mt_log_error("%s: cannot write", output ? output : "stdout");
        goto out;
    }
    rc = MT_EXIT_OK;
out:
    if (ev) protobuf_c_message_free_unpacked(&ev->base, NULL);
    free(text);
    free(payload);
    free(env);
    mt_service_release(&s);
    return rc;
}
