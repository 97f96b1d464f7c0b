/* audit_submitted_read — events.submitted and rejected for `mintrace audit` and `mintrace
 * archive`: from the cluster (with each partition's watermarks) or from an archive. */
#ifndef MT_AUDIT_SUBMITTED_READ_H
#define MT_AUDIT_SUBMITTED_READ_H

#include <stddef.h>
#include <stdint.h>

#include "archive.h"
#include "audit.h"
#include "service.h"

/* Feeds events.submitted, then the rejected topic, to the auditor (after the journal): every
 * partition from offset 0, read_committed, outside any group, with its watermarks; from the
 * archive when archive is not NULL (an archive written before they were archived has neither:
 * nothing is fed). A topic the cluster does not have is skipped. Returns 0, or -1 with err. */
int mt_audit_read_submitted(mt_audit *a, const mt_service *s, const char *archive, char *err, size_t err_size);

/* Appends events.submitted and rejected to an archive: first one record per partition with its
 * watermarks (offset -1, 16 bytes: low and high, big-endian), then every message. *n counts
 * the messages. A topic the cluster does not have is skipped. Returns 0, or -1 with err. */
int mt_archive_add_submitted(mt_archive_writer *w, const mt_service *s, uint64_t *n, char *err, size_t err_size);

#endif
