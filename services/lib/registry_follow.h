/* registry_follow — keeps a stage's registry current from the registry topic, outside any group. */
#ifndef MT_REGISTRY_FOLLOW_H
#define MT_REGISTRY_FOLLOW_H

#include "crypto.h"
#include "registry.h"

typedef struct mt_registry_follower mt_registry_follower;

/* Follows topic (one partition, from its beginning) starting from the registry the service
 * loaded at start (kept by the caller). Every newer version must be the next one and signed
 * by the governance key in force (gov_pk, or the next_governance_public_key the version before
 * named), and name network_id; anything else is logged and ignored. NULL with errstr on error. */
mt_registry_follower *mt_registry_follower_new(const char *brokers, const char *const *props, const char *topic,
                                               const unsigned char gov_pk[MT_PK_LEN], const char *network_id,
                                               const mt_registry *initial, char *errstr, size_t errstr_size);

/* Applies every version that has arrived (never blocks) and returns the registry in force. The
 * registries it returns stay valid until the follower is freed. */
const mt_registry *mt_registry_follower_poll(mt_registry_follower *f);

void mt_registry_follower_free(mt_registry_follower *f);

#endif
