/* epcis — the journal as a GS1 EPCIS 2.0 JSON-LD EPCISDocument (docs/epcis.md has the mapping). */
#ifndef MT_EPCIS_H
#define MT_EPCIS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto.h"

/* The standard EPCIS 2.0 context, and the prefix and IRI of mintrace's own terms (events'
 * extension fields, ILMD and errorDeclaration extensions). Identifiers of batches, facilities
 * and untracked materials are URNs under "urn:mintrace:" (docs/epcis.md). */
#define MT_EPCIS_CONTEXT   "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
#define MT_EPCIS_NS_PREFIX "mintrace"
#define MT_EPCIS_NS_IRI    "urn:mintrace:epcis:1:"

/* Masses with at most this many digits of milligrams are written in KGM, the rest in MGM. */
#define MT_EPCIS_KGM_MAX_MG 999999999999999ULL /* 15 significant digits: exact through a double */

/* Writes mg milligrams as an exact decimal number of kilograms ("1234.567891", "0.0005",
 * "12"; no exponent, no trailing zeros) to buf. Returns the length, or 0 if size is too small
 * (buf then holds ""). 28 bytes always suffice. */
size_t mt_epcis_kg(uint64_t mg, char *buf, size_t size);

/* A quantityElement's quantity and uom for mg: KGM as an exact decimal up to
 * MT_EPCIS_KGM_MAX_MG, else MGM as an integer. *uom gets "KGM" or "MGM". New reference. */
json_t *mt_epcis_quantity(uint64_t mg, const char **uom);

/* The eventID of the event whose mintrace id (BLAKE2b-256 of its payload) is id:
 * "urn:uuid:" and the RFC 9562 version-8 UUID made of the id's first 16 bytes (version and
 * variant bits overwritten). out holds 46 chars with the NUL. */
void mt_epcis_event_id(const unsigned char id[MT_HASH_LEN], char out[46]);

/* An identifier URN "urn:mintrace:KIND:NETWORK:ID" with NETWORK and ID percent-encoded (every
 * byte but A-Z a-z 0-9 - . _ ~), as a new JSON string; NULL when out of memory. */
json_t *mt_epcis_urn(const char *kind, const char *network, const char *id);

/* Unix ms as an RFC 3339 UTC time with milliseconds ("2026-03-01T10:00:00.000Z"); -1 when the
 * year is outside 0000-9999 (out holds ""). */
int mt_epcis_time(int64_t ms, char out[32]);

typedef struct mt_epcis mt_epcis;

/* An empty export; NULL when out of memory. */
mt_epcis *mt_epcis_new(void);
void mt_epcis_free(mt_epcis *x);

/* Adds one journaled LedgerEntry (the ledger topic's bytes, in journal order). Accepted
 * events are kept; rejections, duplicates and registry versions are counted, not exported.
 * Returns 0, or -1 with errstr when the bytes are not a LedgerEntry or an accepted event's
 * envelope, payload or attestation does not decode. */
int mt_epcis_add(mt_epcis *x, const void *entry, size_t len, char *errstr, size_t errstr_size);

/* The EPCISDocument of every accepted event in journal order (batch NULL), or of one batch's
 * lineage: the events that made it and its ancestors, moved any of them (TRANSFER, RECEIVE),
 * and corrections of those. creation_ms is the document's creationDate. A CORRECTION becomes
 * a copy of the event it voids carrying errorDeclaration. New reference; NULL with errstr on
 * an unknown batch, a correction of an event not in the journal, an unknown event kind or a
 * time out of range. */
json_t *mt_epcis_document(const mt_epcis *x, const char *batch, int64_t creation_ms, char *errstr,
                          size_t errstr_size);

/* Writes doc as indented JSON followed by a newline; reals at 15 significant digits, so every
 * KGM quantity is written as exactly the decimal of mt_epcis_kg(). 0, or -1 on a write error. */
int mt_epcis_dump(const json_t *doc, FILE *fp);

#endif
