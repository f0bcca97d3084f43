// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * identity.c - sign identity documents with the node key (identity.h).
 *
 * The formats are AWS's (EC2 user guide, "Verify the instance identity
 * document"): `signature` is the base64 of an RSA PKCS#1 v1.5 SHA-256
 * signature of the document (openssl dgst -sha256 -verify); `pkcs7` and
 * `rsa2048` are the base64 body of a detached PKCS#7 SignedData without
 * certificates (openssl smime -verify -inform PEM -content document
 * -certfile cert), SHA-256. Signed attributes are left out
 * (PKCS7_NOATTR: no signing time), so signing is deterministic: the same
 * definition loaded again stores the same bytes (mdrd's unchanged-file
 * check holds). Base64 is wrapped at 64 columns, as PEM bodies.
 */
#include "identity.h"
#include "aws.h"
#include "err.h"
#include "render.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

/* The last OpenSSL error as text (for messages). */
static const char *ssl_reason(void)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : "unknown error";
}

/* Key and certificate from PEM files; the key must be RSA >= the minimum,
 * private to its owner, and match the certificate. */
static int load_pair(const char *key_path, const char *cert_path, int check_mode,
		     EVP_PKEY **key, X509 **cert, char *err, size_t errlen)
{
	struct stat st;
	FILE *f;

	*key = NULL;
	*cert = NULL;
	if (!(f = fopen(key_path, "r")))
		return mdr_errf(err, errlen, -errno, "node key %s: %s", key_path, strerror(errno));
	if (check_mode && !fstat(fileno(f), &st) && (st.st_mode & 077)) {
		fclose(f);
		return mdr_errf(err, errlen, -EPERM,
				"node key %s: mode %03o, it must not be readable by group or "
				"others (chmod 600)",
				key_path, st.st_mode & 0777);
	}
	*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!*key)
		return mdr_errf(err, errlen, -EINVAL, "node key %s: not a PEM private key (%s)",
				key_path, ssl_reason());
	if (EVP_PKEY_get_base_id(*key) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(*key) < MDR_NODE_KEY_MIN_BITS)
		return mdr_errf(err, errlen, -EINVAL,
				"node key %s: an RSA key of at least %d bits is needed", key_path,
				MDR_NODE_KEY_MIN_BITS);
	if (!(f = fopen(cert_path, "r")))
		return mdr_errf(err, errlen, -errno, "node certificate %s: %s", cert_path,
				strerror(errno));
	*cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!*cert)
		return mdr_errf(err, errlen, -EINVAL,
				"node certificate %s: not a PEM certificate (%s)", cert_path,
				ssl_reason());
	if (X509_check_private_key(*cert, *key) != 1) {
		ERR_clear_error();
		return mdr_errf(err, errlen, -EINVAL,
				"node certificate %s does not match the key %s", cert_path,
				key_path);
	}
	return 0;
}

/* base64 of len bytes, wrapped at 64 columns, no trailing newline. */
static char *b64_wrapped(const unsigned char *p, size_t len)
{
	BIO *b64 = BIO_new(BIO_f_base64()), *mem = BIO_new(BIO_s_mem());
	char *out = NULL, *data;
	long n;

	if (!b64 || !mem)
		goto out;
	b64 = BIO_push(b64, mem);
	mem = NULL;
	if (BIO_write(b64, p, (int)len) != (int)len || BIO_flush(b64) != 1)
		goto out;
	n = BIO_get_mem_data(b64, &data);
	while (n > 0 && data[n - 1] == '\n')
		n--;
	if ((out = malloc((size_t)n + 1))) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
out:
	BIO_free_all(b64);
	BIO_free(mem);
	return out;
}

/* Detached SignedData, no certificates, no signed attributes, SHA-256.
 * Without signed attributes the signer's encryptedDigest is the RSA
 * PKCS#1 v1.5 SHA-256 signature of the document itself: *raw gets it
 * (AWS's `signature`), one RSA operation for the three. */
static char *sign_pkcs7(EVP_PKEY *key, X509 *cert, const char *doc, size_t len, char **raw)
{
	int flags = PKCS7_DETACHED | PKCS7_BINARY | PKCS7_NOCERTS | PKCS7_NOATTR |
		    PKCS7_PARTIAL;
	BIO *in = BIO_new_mem_buf(doc, (int)len);
	PKCS7 *p7 = in ? PKCS7_sign(NULL, NULL, NULL, NULL, flags) : NULL;
	unsigned char *der = NULL;
	PKCS7_SIGNER_INFO *si;
	char *out = NULL;
	int n;

	*raw = NULL;
	if (p7 && PKCS7_sign_add_signer(p7, cert, key, EVP_sha256(), flags) &&
	    PKCS7_final(p7, in, flags) == 1 && (n = i2d_PKCS7(p7, &der)) > 0 &&
	    (si = sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(p7), 0)) &&
	    (*raw = b64_wrapped(ASN1_STRING_get0_data(si->enc_digest),
				(size_t)ASN1_STRING_length(si->enc_digest))))
		out = b64_wrapped(der, (size_t)n);
	OPENSSL_free(der);
	PKCS7_free(p7);
	BIO_free(in);
	return out;
}

/* The pair last loaded, kept while neither file changes: parsing a PEM key
 * costs OpenSSL 3 tens of milliseconds, mdrd signs every file it loads. */
static struct {
	char key_path[4096];
	struct stat key_st, cert_st;
	EVP_PKEY *key;
	X509 *cert;
} cached;

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_mode == b->st_mode;
}

/* load_pair through the cache; *key and *cert are borrowed from it. */
static int cached_pair(const char *key_path, const char *cert_path, EVP_PKEY **key, X509 **cert,
		       char *err, size_t errlen)
{
	struct stat ks, cs;
	int r;

	if (cached.key && !stat(key_path, &ks) && !stat(cert_path, &cs) &&
	    !strcmp(cached.key_path, key_path) && same_file(&ks, &cached.key_st) &&
	    same_file(&cs, &cached.cert_st)) {
		*key = cached.key;
		*cert = cached.cert;
		return 0;
	}
	EVP_PKEY_free(cached.key);
	X509_free(cached.cert);
	memset(&cached, 0, sizeof(cached));
	/* stat before reading: a file replaced in between is read again next time */
	if (stat(key_path, &ks) || stat(cert_path, &cs))
		memset(&ks, 0, sizeof(ks));
	if ((r = load_pair(key_path, cert_path, 1, key, cert, err, errlen))) {
		EVP_PKEY_free(*key);
		X509_free(*cert);
		*key = NULL;
		*cert = NULL;
		return r;
	}
	if (ks.st_ino) {
		snprintf(cached.key_path, sizeof(cached.key_path), "%s", key_path);
		cached.key_st = ks;
		cached.cert_st = cs;
		cached.key = *key;
		cached.cert = *cert;
	}
	return 0;
}

int mdr_identity_sign(struct mdr_defn *d, const char *dir, char *err, size_t errlen)
{
	char key_path[4096], cert_path[4096], *doc, *sig = NULL, *p7 = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	json_t *id = NULL;
	size_t len;
	int r;

	snprintf(key_path, sizeof(key_path), "%s/%s", dir, MDR_NODE_KEY_FILE);
	snprintf(cert_path, sizeof(cert_path), "%s/%s", dir, MDR_NODE_CERT_FILE);
	if (access(key_path, F_OK) && errno == ENOENT) {
		r = mdr_defn_set_member(d, "identity", NULL, err, errlen);
		return r ? r : 1;
	}
	if ((r = cached_pair(key_path, cert_path, &key, &cert, err, errlen)))
		return r;
	doc = mdr_render_identity_document(d, &len);
	if (!doc) {
		r = mdr_errf(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	p7 = sign_pkcs7(key, cert, doc, len, &sig);
	if (!sig || !p7) {
		r = mdr_errf(err, errlen, -EIO, "signing the identity document: %s", ssl_reason());
	} else {
		id = json_pack("{s:s%, s:s, s:s, s:s}", "document", doc, len, "signature", sig,
			       "pkcs7", p7, "rsa2048", p7);
		r = id ? mdr_defn_set_member(d, "identity", id, err, errlen)
		       : mdr_errf(err, errlen, -ENOMEM, "out of memory");
	}
	json_decref(id);
	free(doc);
out:
	free(sig);
	free(p7);
	if (key != cached.key) { /* not kept (its files could not be stat'ed) */
		EVP_PKEY_free(key);
		X509_free(cert);
	}
	return r;
}

/* Copy src into dir/name with mode, through a temporary file and rename. */
static int install_file(const char *src, const char *dir, const char *name, mode_t mode,
			char *err, size_t errlen)
{
	char dst[4096], tmp[4200], buf[8192];
	int in, out, r = 0;
	ssize_t n;

	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return mdr_errf(err, errlen, -errno, "%s: %s", src, strerror(errno));
	unlink(tmp);
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0) {
		r = mdr_errf(err, errlen, -errno, "%s: %s", tmp, strerror(errno));
		close(in);
		return r;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	if (n < 0 || fchmod(out, mode) || fsync(out))
		r = mdr_errf(err, errlen, -EIO, "writing %s: %s", tmp, strerror(errno));
	close(in);
	if (close(out) && !r)
		r = mdr_errf(err, errlen, -EIO, "writing %s: %s", tmp, strerror(errno));
	if (!r && rename(tmp, dst))
		r = mdr_errf(err, errlen, -errno, "%s: %s", dst, strerror(errno));
	if (r)
		unlink(tmp);
	return r;
}

int mdr_identity_install(const char *dir, const char *key_path, const char *cert_path,
			 char *err, size_t errlen)
{
	EVP_PKEY *key;
	X509 *cert;
	int r = load_pair(key_path, cert_path, 0, &key, &cert, err, errlen);

	EVP_PKEY_free(key);
	X509_free(cert);
	if (r)
		return r;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return mdr_errf(err, errlen, -errno, "%s: %s", dir, strerror(errno));
	/* between the two renames a load fails ("does not match"): it never
	 * signs with a key and a certificate that are not a pair */
	if ((r = install_file(cert_path, dir, MDR_NODE_CERT_FILE, 0644, err, errlen)))
		return r;
	return install_file(key_path, dir, MDR_NODE_KEY_FILE, 0600, err, errlen);
}
