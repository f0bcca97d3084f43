/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * identity.[ch]: the node key that signs instance identity documents
 * (dynamic/instance-identity/{signature,pkcs7,rsa2048}), with OpenSSL.
 *
 * Orchestration installs one RSA key (>= 2048 bits) and its certificate per
 * node (`mdrctl node-key install KEY CERT`): DIR/node-key.pem (0600) and
 * DIR/node-cert.pem, DIR defaulting to MDR_DEFAULT_NODE_KEY_DIR. Loading a
 * definition (mdrctl instance load, mdrd) signs its document once; requests
 * only read what was stored. Without a key the signature paths are 404.
 */
#ifndef MDR_IDENTITY_H
#define MDR_IDENTITY_H

#include <stddef.h>
#include "defn.h"

#define MDR_DEFAULT_NODE_KEY_DIR "/etc/mdr"
#define MDR_NODE_KEY_FILE "node-key.pem"
#define MDR_NODE_CERT_FILE "node-cert.pem"
/* RSA keys shorter than this are refused (rsa2048 names the size). */
#define MDR_NODE_KEY_MIN_BITS 2048

/*
 * Sign d's identity document (mdr_render_identity_document) with the node
 * key of dir and store document and signatures in d (mdr_defn_set_identity).
 * Returns 1 when dir has no node key (d's stored signatures, if any, are
 * removed: never a signature of another key or document), 0 when signed,
 * -errno with a message in err (key unreadable, readable by others, not
 * matching its certificate...; d unchanged).
 */
int mdr_identity_sign(struct mdr_defn *d, const char *dir, char *err, size_t errlen);

/*
 * Check key_path / cert_path (PEM: an RSA key of >= MDR_NODE_KEY_MIN_BITS
 * bits and the certificate of its public key) and copy them into dir as
 * MDR_NODE_KEY_FILE (0600) and MDR_NODE_CERT_FILE (0644), each replaced
 * atomically (rename). 0 or -errno with a message; dir unchanged on error.
 */
int mdr_identity_install(const char *dir, const char *key_path, const char *cert_path,
			 char *err, size_t errlen);

#endif /* MDR_IDENTITY_H */
