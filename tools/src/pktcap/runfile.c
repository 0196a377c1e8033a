/*
 * runfile: where a running image is, as the QEMU launcher recorded it:
 *
 *   {"control": "/path/to/com2.sock", "capture_udp": 40123,
 *    "ports": [{"index": 0, "model": "e1000", "mac": "52:54:00:12:34:10"}, ...]}
 *
 * Other keys are skipped, so the launcher may add its own. --control and
 * --capture-udp win over the file; without --run the default file is read
 * only when one of them is missing, so a stale file of an earlier run does
 * not leak port names into an explicitly addressed capture.
 *
 * The parser is a small pull parser over the whole file: enough JSON for
 * this shape (objects, arrays, strings, numbers, true/false/null), with a
 * depth limit, and an error that says where it stopped.
 */
#include "pktcap.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNFILE_MAX_BYTES (1 << 20)
#define JSON_MAX_DEPTH 32
#define JSON_KEY_BYTES 64
#define JSON_STR_BYTES 4096          /* a unix socket path fits in 108 */

struct json {
	const char *p, *start, *end;
	int depth;
	const char *err;             /* first error, with the offset in err_at */
	size_t err_at;
};

/* Called with the cursor on a member's value; must consume it. */
typedef bool json_member_fn(struct json *j, const char *key, void *ctx);
typedef bool json_element_fn(struct json *j, void *ctx);

static bool fail(struct json *j, const char *why)
{
	if (!j->err) {
		j->err = why;
		j->err_at = (size_t)(j->p - j->start);
	}
	return false;
}

static void skip_ws(struct json *j)
{
	while (j->p < j->end && *j->p && strchr(" \t\r\n", *j->p))
		j->p++;
}

static bool take(struct json *j, char c)
{
	skip_ws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return true;
	}
	return false;
}

static bool take_word(struct json *j, const char *word)
{
	size_t len = strlen(word);

	if ((size_t)(j->end - j->p) < len || memcmp(j->p, word, len))
		return fail(j, "unexpected token");
	j->p += len;
	return true;
}

/* A \uXXXX escape: only ASCII survives; anything else becomes '?'. */
static bool unicode_escape(struct json *j, char *c)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++, j->p++) {
		char h = j->p < j->end ? *j->p : 0;

		if (h >= '0' && h <= '9')
			v = v * 16 + (unsigned)(h - '0');
		else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
			v = v * 16 + (unsigned)((h | 0x20) - 'a' + 10);
		else
			return fail(j, "bad \\u escape");
	}
	*c = v < 0x80 ? (char)v : '?';
	return true;
}

static bool string_escape(struct json *j, char *c)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;

	if (j->p >= j->end)
		return fail(j, "unterminated string");
	if (*j->p == 'u') {
		j->p++;
		return unicode_escape(j, c);
	}
	hit = strchr(from, *j->p);
	if (!hit || !*j->p)
		return fail(j, "bad escape");
	*c = to[hit - from];
	j->p++;
	return true;
}

/* A string into OUT (truncation is an error); OUT may be NULL to skip it. */
static bool parse_string(struct json *j, char *out, size_t out_bytes)
{
	size_t len = 0;

	if (!take(j, '"'))
		return fail(j, "expected a string");
	while (j->p < j->end && *j->p != '"') {
		char c = *j->p++;

		if ((unsigned char)c < 0x20)
			return fail(j, "control character in string");
		if (c == '\\' && !string_escape(j, &c))
			return false;
		if (out && len + 1 >= out_bytes)
			return fail(j, "string too long");
		if (out)
			out[len++] = c;
	}
	if (!take(j, '"'))
		return fail(j, "unterminated string");
	if (out)
		out[len] = '\0';
	return true;
}

static bool parse_number(struct json *j, double *out)
{
	char *num_end;
	char buf[64];
	size_t len = 0;

	skip_ws(j);
	while (j->p + len < j->end && len < sizeof(buf) - 1 && j->p[len] &&
	       strchr("+-0123456789.eE", j->p[len]))
		len++;
	memcpy(buf, j->p, len);
	buf[len] = '\0';
	*out = strtod(buf, &num_end);
	if (!len || num_end != buf + len || !isfinite(*out))
		return fail(j, "expected a number");
	j->p += len;
	return true;
}

static bool parse_object(struct json *j, json_member_fn *fn, void *ctx);
static bool parse_array(struct json *j, json_element_fn *fn, void *ctx);

static bool skip_member(struct json *j, const char *key, void *ctx);
static bool skip_element(struct json *j, void *ctx);

static bool skip_value(struct json *j)
{
	double num;

	skip_ws(j);
	if (j->p >= j->end)
		return fail(j, "unexpected end");
	switch (*j->p) {
	case '{': return parse_object(j, skip_member, NULL);
	case '[': return parse_array(j, skip_element, NULL);
	case '"': return parse_string(j, NULL, 0);
	case 't': return take_word(j, "true");
	case 'f': return take_word(j, "false");
	case 'n': return take_word(j, "null");
	}
	return parse_number(j, &num);
}

static bool skip_member(struct json *j, const char *key, void *ctx)
{
	(void)key;
	(void)ctx;
	return skip_value(j);
}

static bool skip_element(struct json *j, void *ctx)
{
	(void)ctx;
	return skip_value(j);
}

static bool parse_object(struct json *j, json_member_fn *fn, void *ctx)
{
	char key[JSON_KEY_BYTES];
	bool ok = true;

	if (!take(j, '{'))
		return fail(j, "expected an object");
	if (++j->depth > JSON_MAX_DEPTH)
		return fail(j, "nested too deep");
	if (take(j, '}'))
		goto out;
	do {
		ok = parse_string(j, key, sizeof(key)) &&
		     (take(j, ':') || fail(j, "expected ':'")) && fn(j, key, ctx);
	} while (ok && take(j, ','));
	ok = ok && (take(j, '}') || fail(j, "expected ',' or '}'"));
out:
	j->depth--;
	return ok;
}

static bool parse_array(struct json *j, json_element_fn *fn, void *ctx)
{
	bool ok = true;

	if (!take(j, '['))
		return fail(j, "expected an array");
	if (++j->depth > JSON_MAX_DEPTH)
		return fail(j, "nested too deep");
	if (take(j, ']'))
		goto out;
	do {
		ok = fn(j, ctx);
	} while (ok && take(j, ','));
	ok = ok && (take(j, ']') || fail(j, "expected ',' or ']'"));
out:
	j->depth--;
	return ok;
}

/* A whole number in [min, max]. */
static bool parse_int(struct json *j, double min, double max, long *out)
{
	double v;

	if (!parse_number(j, &v))
		return false;
	if (v != floor(v) || v < min || v > max)
		return fail(j, "number out of range");
	*out = (long)v;
	return true;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return false;
		mac[i] = (uint8_t)b[i];
	}
	return true;
}

static bool port_member(struct json *j, const char *key, void *ctx)
{
	struct pc_port *port = ctx;
	char mac[32];
	long index;

	if (!strcmp(key, "index")) {
		if (!parse_int(j, 0, PC_NB_WIRE_PORTS - 1, &index))
			return false;
		port->index = (uint16_t)index;
		return true;
	}
	if (!strcmp(key, "model"))
		return parse_string(j, port->model, sizeof(port->model));
	if (!strcmp(key, "mac")) {
		if (!parse_string(j, mac, sizeof(mac)))
			return false;
		port->has_mac = parse_mac(mac, port->mac);
		return port->has_mac || fail(j, "bad MAC address");
	}
	return skip_value(j);
}

static bool port_element(struct json *j, void *ctx)
{
	struct pktcap *pc = ctx;
	struct pc_port port = { .index = (uint16_t)pc->nb_ports };

	if (pc->nb_ports == PC_MAX_PORTS)
		return fail(j, "too many ports");
	if (!parse_object(j, port_member, &port))
		return false;
	if (runfile_port(pc, port.index))
		return fail(j, "port index listed twice");
	pc->ports[pc->nb_ports++] = port;
	return true;
}

/* What the file holds, before it is merged with the command line. */
struct run_info {
	struct pktcap *pc;
	char control[JSON_STR_BYTES];
	long capture_udp;                /* 0: absent or null */
};

static bool top_member(struct json *j, const char *key, void *ctx)
{
	struct run_info *ri = ctx;

	skip_ws(j);
	if (j->p < j->end && *j->p == 'n')
		return take_word(j, "null");  /* "capture_udp": null = no capture port */
	if (!strcmp(key, "control"))
		return parse_string(j, ri->control, sizeof(ri->control));
	if (!strcmp(key, "capture_udp"))
		return parse_int(j, 1, 65535, &ri->capture_udp);
	if (!strcmp(key, "ports"))
		return parse_array(j, port_element, ri->pc);
	return skip_value(j);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(RUNFILE_MAX_BYTES);
	if (buf)
		*len = fread(buf, 1, RUNFILE_MAX_BYTES, f);
	if (buf && (ferror(f) || *len == RUNFILE_MAX_BYTES)) {
		free(buf);
		buf = NULL;
		errno = EFBIG;
	}
	fclose(f);
	return buf;
}

static int load(struct pktcap *pc, const char *path, struct run_info *ri)
{
	struct json j = { 0 };
	size_t len = 0;
	char *text = read_file(path, &len);
	bool ok;

	if (!text) {
		fprintf(stderr, "pktcap: run file %s: %s\n", path, strerror(errno));
		return -1;
	}
	j.p = j.start = text;
	j.end = text + len;
	ok = parse_object(&j, top_member, ri);
	skip_ws(&j);
	if (ok && j.p != j.end)
		ok = fail(&j, "trailing characters");
	if (!ok)
		fprintf(stderr, "pktcap: run file %s: offset %zu: %s\n", path, j.err_at, j.err);
	free(text);
	pc->run_loaded = path;
	return ok ? 0 : -1;
}

static int missing(const struct pktcap *pc, const char *what, const char *option)
{
	if (pc->run_loaded)
		fprintf(stderr, "pktcap: no %s: not in run file %s; pass %s\n", what,
			pc->run_loaded, option);
	else
		fprintf(stderr, "pktcap: no %s: pass %s, or --run FILE (%s does not exist)\n",
			what, option, PC_DEFAULT_RUN_FILE);
	return -1;
}

int runfile_apply(struct pktcap *pc)
{
	const char *path = pc->run_path;
	struct run_info *ri;
	int rc = 0;

	if (!path && (!pc->control_path || !pc->capture_udp) && !access(PC_DEFAULT_RUN_FILE, F_OK))
		path = PC_DEFAULT_RUN_FILE;
	ri = calloc(1, sizeof(*ri));
	if (!ri)
		return -1;
	ri->pc = pc;
	if (path && load(pc, path, ri))
		rc = -1;
	if (!rc && !pc->control_path && ri->control[0]) {
		pc->control_owned = strdup(ri->control);
		pc->control_path = pc->control_owned;
		rc = pc->control_path ? 0 : -1;
	}
	if (!rc && !pc->capture_udp)
		pc->capture_udp = (int)ri->capture_udp;
	if (!rc && !pc->control_path)
		rc = missing(pc, "control socket", "--control SOCKET");
	if (!rc && !pc->capture_udp)
		rc = missing(pc, "capture UDP port (does the image have a 'port N role capture'?)",
			     "--capture-udp PORT");
	free(ri);
	return rc;
}

const struct pc_port *runfile_port(const struct pktcap *pc, uint16_t index)
{
	for (int i = 0; i < pc->nb_ports; i++)
		if (pc->ports[i].index == index)
			return &pc->ports[i];
	return NULL;
}
