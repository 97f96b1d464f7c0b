/* registry — who takes part, in which role, with which keys: a governance-signed snapshot. */
#ifndef MT_REGISTRY_H
#define MT_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"

#define MT_PAYLOAD_REGISTRY "mintrace.v1.Registry"

/* A key as the registry knows it, with the facility it belongs to. Pointers stay valid for
 * the registry's lifetime. */
typedef struct mt_registry_key {
    const char *key_id;
    const unsigned char *pk; /* MT_PK_LEN bytes */
    const Mintrace__V1__FacilityKey *key;
    const Mintrace__V1__FacilityRecord *facility;
} mt_registry_key;

typedef struct mt_registry mt_registry;

/* Loads a registry file: a serialized Envelope (payload type mintrace.v1.Registry) that must be
 * signed by the governance public key gov_pk and name network_id. On failure NULL is returned
 * and errstr names the file and the reason. */
mt_registry *mt_registry_load(const char *path, const unsigned char gov_pk[MT_PK_LEN],
                              const char *network_id, char *errstr, size_t errstr_size);

/* The same from bytes in memory; source names them in errors. */
mt_registry *mt_registry_from_envelope(const void *bytes, size_t len, const char *source,
                                       const unsigned char gov_pk[MT_PK_LEN], const char *network_id,
                                       char *errstr, size_t errstr_size);

void mt_registry_destroy(mt_registry *reg);

/* Signs a Registry with the governance key: a new serialized Envelope (free()) in *out. */
int mt_registry_sign(const Mintrace__V1__Registry *r, const mt_keypair *gov, uint8_t **out, size_t *outlen,
                     char *errstr, size_t errstr_size);

/* The key with this id, or NULL. O(log n). */
const mt_registry_key *mt_registry_find_key(const mt_registry *reg, const char *key_id);

/* The facility with this id, or NULL. O(log n). */
const Mintrace__V1__FacilityRecord *mt_registry_find_facility(const mt_registry *reg, const char *facility_id);

/* The decoded registry itself (valid for the registry's lifetime). */
const Mintrace__V1__Registry *mt_registry_snapshot(const mt_registry *reg);

/* The registry snapshot's version. */
uint64_t mt_registry_version(const mt_registry *reg);

/* Whether a key may sign at time t_ms (Unix ms): 0 if valid, else the ReasonCode
 * (KEY_REVOKED or KEY_NOT_VALID) and a detail in errstr. */
int mt_registry_key_valid_at(const mt_registry_key *k, int64_t t_ms, char *errstr, size_t errstr_size);

/* Whether a facility of this role may emit this kind of event (the one table of it). */
int mt_role_allows(Mintrace__V1__FacilityRole role, Mintrace__V1__EventKind kind);

#endif
