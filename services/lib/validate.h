/* validate — the stateless check of a submitted envelope: shape, key, facility, signature. */
#ifndef MT_VALIDATE_H
#define MT_VALIDATE_H

#include "event.h"
#include "registry.h"

/* Judges one message of events.submitted, as read. Accepts (returns 0, v->code 0) when the bytes
 * are an Envelope of a BatchEvent for network_id, well formed, whose first signature is a
 * facility signature by a registry key of the facility the event names, valid at now_ms, whose
 * facility's role allows the kind, and whose signature verifies. Otherwise returns the reason
 * code with v->detail saying why. v->event_id and v->facility_id are filled as far as the
 * bytes allow. The signature check comes last: cheap rules first. */
mt_reason mt_validate_envelope(const mt_registry *reg, const char *network_id, const void *bytes, size_t len,
                               int64_t now_ms, mt_verdict *v);

#endif
