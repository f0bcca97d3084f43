// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_defn.c - libFuzzer target for the definition parser (defn.c):
 * mdr_defn_parse, mdr_defn_to_json, mdr_defn_from_doc. The input is the
 * JSON text a user (or an API client through mdrd) hands to
 * `mdrctl instance load`.
 *
 * Invariants (abort on violation):
 *  - a rejected definition leaves *out NULL and a non-empty one-line error;
 *  - an accepted one has a canonical uuid, a doc of doc_len bytes within
 *    MDR_DOC_MAX, and a contents length for each blob within its limit;
 *  - parse -> to_json -> parse is the identity: same doc, same user data,
 *    same files (compact and pretty output alike);
 *  - the stored doc re-parses (mdr_defn_from_doc) to the same doc.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "defn.h"

static void same_defn(const struct mdr_defn *a, const struct mdr_defn *b)
{
	if (strcmp(a->uuid, b->uuid) || a->doc_len != b->doc_len || strcmp(a->doc_text, b->doc_text))
		abort();
	if (a->has_user_data != b->has_user_data || a->user_data_len != b->user_data_len)
		abort();
	if (a->user_data_len && (!a->user_data || !b->user_data ||
				 memcmp(a->user_data, b->user_data, a->user_data_len)))
		abort();
	if (a->n_bindings != b->n_bindings ||
	    memcmp(a->bindings, b->bindings, sizeof(a->bindings)))
		abort();
	if (a->n_files != b->n_files)
		abort();
	for (size_t i = 0; i < a->n_files; i++) {
		if (a->file_len[i] != b->file_len[i])
			abort();
		if (a->file_len[i] && (!a->file[i] || !b->file[i] ||
				       memcmp(a->file[i], b->file[i], a->file_len[i])))
			abort();
	}
}

static void roundtrip(const struct mdr_defn *d, int pretty)
{
	struct mdr_defn *d2 = NULL;
	char err[MDR_DEFN_ERR_SIZE];
	char *j = mdr_defn_to_json(d, pretty);

	if (!j)
		return; /* allocation failure */
	if (mdr_defn_parse(j, strlen(j), &d2, err, sizeof(err)))
		abort(); /* our own output must load back */
	same_defn(d, d2);
	mdr_defn_free(d2);
	free(j);
}

static void check_valid(const struct mdr_defn *d)
{
	size_t ul = strlen(d->uuid);

	if (ul == 0 || ul >= MDR_UUID_SIZE)
		abort();
	for (size_t i = 0; i < ul; i++)
		if (d->uuid[i] >= 'A' && d->uuid[i] <= 'Z')
			abort(); /* canonical: lower case */
	if (!d->doc || !d->doc_text || strlen(d->doc_text) != d->doc_len || d->doc_len > MDR_DOC_MAX)
		abort();
	if (d->n_files > MDR_MAX_FILES)
		abort();
	if (d->has_user_data && d->user_data_len && !d->user_data)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mdr_defn sentinel;
	struct mdr_defn *d = &sentinel, *d2 = NULL;
	char err[MDR_DEFN_ERR_SIZE];

	err[0] = '\0';
	if (mdr_defn_parse((const char *)data, size, &d, err, sizeof(err))) {
		if (d)
			abort(); /* a rejected definition hands nothing back */
		if (!err[0] || strchr(err, '\n') || strlen(err) >= sizeof(err))
			abort(); /* a clear one-line error */
		return 0;
	}
	if (!d || d == &sentinel)
		abort();
	check_valid(d);
	roundtrip(d, 0);
	roundtrip(d, 1);
	if (mdr_defn_from_doc(d->doc_text, d->doc_len, &d2, err, sizeof(err)))
		abort();
	if (strcmp(d2->doc_text, d->doc_text) || strcmp(d2->uuid, d->uuid))
		abort();
	mdr_defn_free(d2);
	mdr_defn_free(d);
	return 0;
}
