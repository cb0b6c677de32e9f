/* json.h — the hand-written JSON scanner and string escaping (json.c). */
#ifndef MW_JSON_H
#define MW_JSON_H

#include <stddef.h>
#include <stdint.h>

/* A JSON string body from S into OUT (at most OUTLEN bytes with the NUL):
 * '"' and '\\' escaped, bytes outside printable ASCII as \u00XX, so any byte
 * string makes valid JSON; cut short at a whole character. Returns the length. */
size_t mw_json_escape(const char *s, char *out, size_t outlen);

#define MW_MEMBERS_MAX 64	/* members of one object the trace reader and the diff take */

/* The value of one hex digit, or -1. */
static inline int mw_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends code point CP (at most 0x10ffff) to O as UTF-8; returns the byte count. */
static inline size_t mw_utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

enum mw_jtype { MW_J_STR, MW_J_INT, MW_J_TRUE, MW_J_FALSE, MW_J_NULL, MW_J_OBJ, MW_J_ARR, MW_J_NUM };

struct mw_jval {
	int type;		/* enum mw_jtype; MW_J_NUM: a non-integer number */
	const char *s;		/* the raw text of the value (strings: inside the quotes) */
	size_t n;
	int esc;		/* MW_J_STR: contains backslash escapes */
	int neg;		/* MW_J_INT: negative */
	int ovf;		/* MW_J_INT: magnitude does not fit in 64 bits */
	uint64_t u;		/* MW_J_INT: magnitude */
};

struct mw_jmember {
	const char *key;	/* raw key text (no escapes allowed in keys) */
	size_t klen;
	struct mw_jval v;
};

/* Parse one flat JSON object (nested objects/arrays are validated and kept
 * raw) into at most MAX members. Returns the member count, or -1 with a
 * message in err. */
int mw_json_object(const char *s, size_t n, struct mw_jmember *m, int max,
		   char *err, size_t errlen);
/* Split one JSON array into at most MAX values (nested ones kept raw).
 * Returns the count, or -1 with a message in err. */
int mw_json_array(const char *s, size_t n, struct mw_jval *v, int max,
		  char *err, size_t errlen);
/* Decode a string value (escapes, \u surrogates → UTF-8) into buf, truncating;
 * returns 0, or -1 on a bad escape. */
int mw_json_string(const struct mw_jval *v, char *buf, size_t len);
/* A value as shown in messages: its text, quoted if a string, cut at 80 bytes. */
void mw_json_show(const struct mw_jval *v, char *buf, size_t len);
/* The member of M (N members) whose key is K (KL bytes), or NULL. */
const struct mw_jmember *mw_json_member_n(const struct mw_jmember *m, int n, const char *k, size_t kl);
/* Compare two flat objects member by member, order ignored. Returns 0 when
 * equal, else 1 with a description of the first difference in why. */
int mw_json_object_diff(const char *a, size_t an, const char *b, size_t bn,
			char *why, size_t whylen);

#endif
