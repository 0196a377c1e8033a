/*
 * cli: pktgen's command line. Every option is parsed into struct pktgen and
 * checked before a socket is opened; a bad value prints one line naming the
 * option and what is wrong with it, and pktgen exits 2.
 */
#include "pktgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
"usage: pktgen --port IDX=HOST_PORT:GUEST_PORT[,mac=MAC][,ip=A.B.C.D] ... [options]\n"
"\n"
"Simulated hosts on QEMU -netdev dgram NICs (all on 127.0.0.1): port IDX binds\n"
"HOST_PORT and sends to GUEST_PORT. Default MAC 02:00:00:00:00:IDX, default\n"
"address 10.0.IDX.2; with ip= the port also answers ARP requests for it.\n"
"\n"
"Traffic:\n"
"  --stream TX=RX        send on port TX, expect on port RX (repeatable)\n"
"  --count N             frames per stream (default 1000)\n"
"  --size S              60..1514 | MIN-MAX | imix (7:4:1 of 60, 590, 1514); default 60\n"
"  --flows N             UDP flows per stream (default 1): source port 49152 + flow %% 16384,\n"
"                        source address + flow / 16384\n"
"  --rate PPS|max        total offered rate over all streams (default 10000)\n"
"  --dst-mac [TX=]MAC    destination MAC (default: the RX port's MAC)\n"
"  --dst-ip [TX=]IP      destination address (default: the RX port's address)\n"
"  --ttl N               IPv4 TTL (default 64)\n"
"  --udp-dport N         UDP destination port (default 7)\n"
"  --replay FILE.pcap    send each frame of FILE as is (instead of --stream)\n"
"  --tx-port N           the port --replay sends on\n"
"  --mix PORT=FILE.pcap  also send FILE's frames as they are on PORT, in order and over\n"
"                        again, one after every --mix-every stream frames (repeatable,\n"
"                        at most %d files; on top of --rate)\n"
"  --mix-every N         stream frames between two frames of each mix (default 10)\n"
"  --duration S          stop sending after S seconds even if --count frames were not all\n"
"                        sent (default count with a paced --rate: rate x S; with --rate max\n"
"                        give --count as a cap); judged on the frames that were sent\n"
"\n"
"Receiving and checks:\n"
"  --expect-smac RX=MAC  frames arriving on RX must carry this source MAC\n"
"  --expect-dmac RX=MAC  ... and this destination MAC\n"
"  --expect-ttl RX=N     ... and this IPv4 TTL (a router decrements --ttl)\n"
"  --expect-all          every frame arrives intact, once, in per-flow order\n"
"  --expect-none         no test frame arrives on any stream's RX port\n"
"  --expect-count N      exactly N test frames arrive over all streams\n"
"  --write FILE.pcap     write every frame received (all ports) to FILE\n"
"  --pcap-nano           nanosecond timestamps in the pcap (default microsecond)\n"
"  --wait-ms N           after the last send, wait up to N ms without progress (default 2000);\n"
"                        once everything arrived, linger min(N, 100) ms for late duplicates\n"
"  --timeout S           hard stop after S seconds (default 120)\n"
"  --quiet               no progress lines on stderr\n"
"  --verbose             print the first anomalies (loss gaps excluded) on stderr\n"
"  --help\n"
"\n"
"Without streams or --replay pktgen only listens (ARP, --write) until --timeout\n"
"or SIGINT. Exit status: 0 expectations hold (or none given), 1 they fail,\n"
"2 usage error.\n";

void cli_usage(FILE *out)
{
	fprintf(out, usage_text, PG_MAX_MIXES);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("pktgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	return -1;
}

/* Parses a decimal integer in [min, max]; the whole string must be the number. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly xx:xx:xx:xx:xx:xx, hex digits in either case. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int parse_ipv4(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*ip = ntohl(a.s_addr);
	return 0;
}

/* Splits "IDX=REST" and checks IDX names a port slot; returns REST or NULL. */
static const char *split_index(const char *s, int *idx)
{
	const char *eq = strchr(s, '=');
	char num[16];
	uint64_t v;

	if (!eq || eq == s || (size_t)(eq - s) >= sizeof(num))
		return NULL;
	memcpy(num, s, eq - s);
	num[eq - s] = 0;
	if (parse_u64(num, 0, PG_MAX_PORTS - 1, &v))
		return NULL;
	*idx = (int)v;
	return eq + 1;
}

static void port_defaults(struct pg_port *p, int idx)
{
	static const uint8_t base_mac[6] = { 0x02, 0, 0, 0, 0, 0 };

	memcpy(p->mac, base_mac, 6);
	p->mac[5] = (uint8_t)idx;
	p->ip = (10u << 24) | ((uint32_t)idx << 8) | 2;   /* 10.0.IDX.2 */
}

static int parse_port_option(struct pg_port *p, const char *opt, const char *arg)
{
	if (!strncmp(opt, "mac=", 4)) {
		if (parse_mac(opt + 4, p->mac))
			return usage_error("--port %s: bad MAC '%s' (want xx:xx:xx:xx:xx:xx)", arg, opt + 4);
		return 0;
	}
	if (!strncmp(opt, "ip=", 3)) {
		if (parse_ipv4(opt + 3, &p->ip))
			return usage_error("--port %s: bad IPv4 address '%s'", arg, opt + 3);
		p->has_ip = true;
		return 0;
	}
	return usage_error("--port %s: unknown option '%s' (mac= or ip=)", arg, opt);
}

static int parse_port(struct pktgen *pg, const char *arg)
{
	char buf[256], *save, *tok, *colon;
	uint64_t host, guest;
	struct pg_port *p;
	int idx;
	const char *rest = split_index(arg, &idx);

	if (!rest || strlen(rest) >= sizeof(buf))
		return usage_error("--port %s: want IDX=HOST_PORT:GUEST_PORT, IDX 0..%d", arg, PG_MAX_PORTS - 1);
	p = &pg->ports[idx];
	if (p->defined)
		return usage_error("--port %s: port %d is defined twice", arg, idx);
	strcpy(buf, rest);
	tok = strtok_r(buf, ",", &save);
	colon = tok ? strchr(tok, ':') : NULL;
	if (!colon)
		return usage_error("--port %s: want HOST_PORT:GUEST_PORT", arg);
	*colon = 0;
	if (parse_u64(tok, 1, 65535, &host) || parse_u64(colon + 1, 1, 65535, &guest))
		return usage_error("--port %s: UDP ports must be 1..65535", arg);
	port_defaults(p, idx);
	p->host_port = (uint16_t)host;
	p->guest_port = (uint16_t)guest;
	while ((tok = strtok_r(NULL, ",", &save)))
		if (parse_port_option(p, tok, arg))
			return -1;
	p->defined = true;
	return 0;
}

static int parse_stream(struct pktgen *pg, const char *arg)
{
	uint64_t rx;
	int tx;
	const char *rest = split_index(arg, &tx);

	if (!rest || parse_u64(rest, 0, PG_MAX_PORTS - 1, &rx))
		return usage_error("--stream %s: want TX=RX (port numbers)", arg);
	if (pg->nb_streams == PG_MAX_STREAMS)
		return usage_error("--stream %s: at most %d streams", arg, PG_MAX_STREAMS);
	pg->streams[pg->nb_streams].tx = tx;
	pg->streams[pg->nb_streams].rx = (int)rx;
	pg->nb_streams++;
	return 0;
}

static int parse_size(struct pktgen *pg, const char *arg)
{
	char lo[16];
	const char *dash = strchr(arg, '-');
	uint64_t a, b;

	if (!strcmp(arg, "imix")) {
		pg->size_kind = PG_SIZE_IMIX;
		return 0;
	}
	if (!dash) {
		if (parse_u64(arg, FRAME_MIN_BYTES, FRAME_MAX_BYTES, &a))
			return usage_error("--size %s: want %d..%d, MIN-MAX or imix", arg, FRAME_MIN_BYTES, FRAME_MAX_BYTES);
		pg->size_kind = PG_SIZE_FIXED;
		pg->size_min = pg->size_max = (uint16_t)a;
		return 0;
	}
	if ((size_t)(dash - arg) >= sizeof(lo))
		return usage_error("--size %s: bad range", arg);
	memcpy(lo, arg, dash - arg);
	lo[dash - arg] = 0;
	if (parse_u64(lo, FRAME_MIN_BYTES, FRAME_MAX_BYTES, &a) ||
	    parse_u64(dash + 1, FRAME_MIN_BYTES, FRAME_MAX_BYTES, &b) || a > b)
		return usage_error("--size %s: want MIN-MAX within %d..%d", arg, FRAME_MIN_BYTES, FRAME_MAX_BYTES);
	pg->size_kind = PG_SIZE_RANGE;
	pg->size_min = (uint16_t)a;
	pg->size_max = (uint16_t)b;
	return 0;
}

static int parse_rate(struct pktgen *pg, const char *arg)
{
	char *end;
	double v;

	if (!strcmp(arg, "max")) {
		pg->rate_max = true;
		return 0;
	}
	errno = 0;
	v = strtod(arg, &end);
	if (errno || *end || end == arg || !(v >= 1 && v <= 1e9))
		return usage_error("--rate %s: want packets per second (1..1e9) or max", arg);
	pg->rate_max = false;
	pg->rate_pps = v;
	return 0;
}

/* --mix PORT=FILE.pcap: the file is loaded once the options are all read. */
static int parse_mix(struct pktgen *pg, const char *arg)
{
	int port;
	const char *path = split_index(arg, &port);

	if (!path || !*path)
		return usage_error("--mix %s: want PORT=FILE.pcap", arg);
	if (pg->nb_mixes == PG_MAX_MIXES)
		return usage_error("--mix %s: at most %d mix files", arg, PG_MAX_MIXES);
	pg->mixes[pg->nb_mixes++] = (struct pg_replay){ .path = path, .port = port };
	return 0;
}

static int parse_duration(struct pktgen *pg, const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || *end || end == arg || !(v > 0 && v <= 86400))
		return usage_error("--duration %s: want seconds (0..86400]", arg);
	pg->duration_s = v;
	return 0;
}

/* --dst-mac/--expect-*mac: "[IDX=]MAC"; idx is -1 without a prefix. */
static int parse_indexed_mac(const char *opt, const char *arg, bool need_index, int *idx, uint8_t mac[6])
{
	const char *rest = strchr(arg, '=') ? split_index(arg, idx) : NULL;

	if (!rest) {
		if (need_index || strchr(arg, '='))
			return usage_error("%s %s: want %sMAC", opt, arg, need_index ? "PORT=" : "[PORT=]");
		*idx = -1;
		rest = arg;
	}
	if (parse_mac(rest, mac))
		return usage_error("%s %s: bad MAC '%s' (want xx:xx:xx:xx:xx:xx)", opt, arg, rest);
	return 0;
}

static int parse_dst_mac(struct pktgen *pg, const char *arg)
{
	uint8_t mac[6];
	int idx;

	if (parse_indexed_mac("--dst-mac", arg, false, &idx, mac))
		return -1;
	if (idx < 0) {
		pg->has_dst_mac = true;
		memcpy(pg->dst_mac, mac, 6);
	} else {
		pg->ports[idx].has_dst_mac = true;
		memcpy(pg->ports[idx].dst_mac, mac, 6);
	}
	return 0;
}

static int parse_dst_ip(struct pktgen *pg, const char *arg)
{
	uint32_t ip;
	int idx = -1;
	const char *rest = strchr(arg, '=') ? split_index(arg, &idx) : arg;

	if (!rest || parse_ipv4(rest, &ip))
		return usage_error("--dst-ip %s: want [PORT=]A.B.C.D", arg);
	if (idx < 0) {
		pg->has_dst_ip = true;
		pg->dst_ip = ip;
	} else {
		pg->ports[idx].has_dst_ip = true;
		pg->ports[idx].dst_ip = ip;
	}
	return 0;
}

static int parse_expect_mac(struct pktgen *pg, const char *arg, bool is_src)
{
	uint8_t mac[6];
	int idx;
	struct pg_port *p;

	if (parse_indexed_mac(is_src ? "--expect-smac" : "--expect-dmac", arg, true, &idx, mac))
		return -1;
	p = &pg->ports[idx];
	if (is_src) {
		p->check_smac = true;
		memcpy(p->expect_smac, mac, 6);
	} else {
		p->check_dmac = true;
		memcpy(p->expect_dmac, mac, 6);
	}
	return 0;
}

static int parse_expect_ttl(struct pktgen *pg, const char *arg)
{
	uint64_t ttl;
	int idx;
	const char *rest = split_index(arg, &idx);

	if (!rest || parse_u64(rest, 0, 255, &ttl))
		return usage_error("--expect-ttl %s: want PORT=TTL (0..255)", arg);
	pg->ports[idx].check_ttl = true;
	pg->ports[idx].expect_ttl = (uint8_t)ttl;
	return 0;
}

static int parse_number(const char *opt, const char *arg, uint64_t min, uint64_t max, uint64_t *out)
{
	if (parse_u64(arg, min, max, out))
		return usage_error("%s %s: want a number in %llu..%llu", opt, arg,
				   (unsigned long long)min, (unsigned long long)max);
	return 0;
}

static int parse_timeout(struct pktgen *pg, const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || *end || end == arg || !(v > 0 && v <= 86400))
		return usage_error("--timeout %s: want seconds (0..86400]", arg);
	pg->timeout_s = v;
	return 0;
}

enum {
	OPT_PORT = 256, OPT_STREAM, OPT_COUNT, OPT_SIZE, OPT_FLOWS, OPT_RATE, OPT_DST_MAC,
	OPT_DST_IP, OPT_TTL, OPT_UDP_DPORT, OPT_REPLAY, OPT_TX_PORT, OPT_EXPECT_SMAC,
	OPT_EXPECT_DMAC, OPT_EXPECT_TTL, OPT_EXPECT_ALL, OPT_EXPECT_NONE, OPT_EXPECT_COUNT, OPT_WRITE,
	OPT_PCAP_NANO, OPT_WAIT_MS, OPT_TIMEOUT, OPT_QUIET, OPT_VERBOSE, OPT_MIX, OPT_MIX_EVERY,
	OPT_DURATION,
};

static const struct option long_options[] = {
	{ "port", required_argument, NULL, OPT_PORT },
	{ "stream", required_argument, NULL, OPT_STREAM },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "flows", required_argument, NULL, OPT_FLOWS },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "dst-mac", required_argument, NULL, OPT_DST_MAC },
	{ "dst-ip", required_argument, NULL, OPT_DST_IP },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "udp-dport", required_argument, NULL, OPT_UDP_DPORT },
	{ "replay", required_argument, NULL, OPT_REPLAY },
	{ "tx-port", required_argument, NULL, OPT_TX_PORT },
	{ "mix", required_argument, NULL, OPT_MIX },
	{ "mix-every", required_argument, NULL, OPT_MIX_EVERY },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "expect-smac", required_argument, NULL, OPT_EXPECT_SMAC },
	{ "expect-dmac", required_argument, NULL, OPT_EXPECT_DMAC },
	{ "expect-ttl", required_argument, NULL, OPT_EXPECT_TTL },
	{ "expect-all", no_argument, NULL, OPT_EXPECT_ALL },
	{ "expect-none", no_argument, NULL, OPT_EXPECT_NONE },
	{ "expect-count", required_argument, NULL, OPT_EXPECT_COUNT },
	{ "write", required_argument, NULL, OPT_WRITE },
	{ "pcap-nano", no_argument, NULL, OPT_PCAP_NANO },
	{ "wait-ms", required_argument, NULL, OPT_WAIT_MS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void set_defaults(struct pktgen *pg)
{
	pg->count = 1000;
	pg->size_kind = PG_SIZE_FIXED;
	pg->size_min = pg->size_max = FRAME_MIN_BYTES;
	pg->flows = 1;
	pg->rate_pps = 10000;
	pg->ttl = 64;
	pg->udp_dport = 7;
	pg->replay.port = -1;
	pg->wait_ms = 2000;
	pg->timeout_s = 120;
	pg->mix_every = 10;
}

/* Options that take a number, stored straight into pg. */
static int parse_numeric_option(struct pktgen *pg, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case OPT_COUNT:
		if (parse_number("--count", arg, 1, UINT32_MAX, &v)) return -1;
		pg->count = v;
		pg->count_given = true;
		return 0;
	case OPT_FLOWS:
		if (parse_number("--flows", arg, 1, PG_MAX_FLOWS, &v)) return -1;
		pg->flows = (uint32_t)v;
		return 0;
	case OPT_TTL:
		if (parse_number("--ttl", arg, 1, 255, &v)) return -1;
		pg->ttl = (uint8_t)v;
		return 0;
	case OPT_UDP_DPORT:
		if (parse_number("--udp-dport", arg, 1, 65535, &v)) return -1;
		pg->udp_dport = (uint16_t)v;
		return 0;
	case OPT_TX_PORT:
		if (parse_number("--tx-port", arg, 0, PG_MAX_PORTS - 1, &v)) return -1;
		pg->replay.port = (int)v;
		return 0;
	case OPT_EXPECT_COUNT:
		if (parse_number("--expect-count", arg, 0, UINT64_MAX, &v)) return -1;
		pg->expect_count = true;
		pg->expect_count_n = v;
		return 0;
	case OPT_WAIT_MS:
		if (parse_number("--wait-ms", arg, 0, 3600000, &v)) return -1;
		pg->wait_ms = (uint32_t)v;
		return 0;
	case OPT_MIX_EVERY:
		if (parse_number("--mix-every", arg, 1, PG_MAX_MIX_EVERY, &v)) return -1;
		pg->mix_every = (uint32_t)v;
		return 0;
	}
	return usage_error("internal: option %d", opt);
}

static int parse_option(struct pktgen *pg, int opt, const char *arg)
{
	switch (opt) {
	case OPT_PORT: return parse_port(pg, arg);
	case OPT_STREAM: return parse_stream(pg, arg);
	case OPT_SIZE: return parse_size(pg, arg);
	case OPT_RATE: return parse_rate(pg, arg);
	case OPT_DST_MAC: return parse_dst_mac(pg, arg);
	case OPT_DST_IP: return parse_dst_ip(pg, arg);
	case OPT_EXPECT_SMAC: return parse_expect_mac(pg, arg, true);
	case OPT_EXPECT_DMAC: return parse_expect_mac(pg, arg, false);
	case OPT_EXPECT_TTL: return parse_expect_ttl(pg, arg);
	case OPT_TIMEOUT: return parse_timeout(pg, arg);
	case OPT_MIX: return parse_mix(pg, arg);
	case OPT_DURATION: return parse_duration(pg, arg);
	case OPT_REPLAY: pg->replay.path = arg; return 0;
	case OPT_WRITE: pg->write_path = arg; return 0;
	case OPT_PCAP_NANO: pg->pcap_nano = true; return 0;
	case OPT_EXPECT_ALL: pg->expect_all = true; return 0;
	case OPT_EXPECT_NONE: pg->expect_none = true; return 0;
	case OPT_QUIET: pg->quiet = true; return 0;
	case OPT_VERBOSE: pg->verbose = 20; return 0;
	}
	return parse_numeric_option(pg, opt, arg);
}

static int check_port_refs(const struct pktgen *pg)
{
	for (int i = 0; i < pg->nb_streams; i++) {
		const struct pg_stream *s = &pg->streams[i];
		if (!pg->ports[s->tx].defined || !pg->ports[s->rx].defined)
			return usage_error("--stream %d=%d: port %d is not defined (--port)",
					   s->tx, s->rx, pg->ports[s->tx].defined ? s->rx : s->tx);
	}
	for (int i = 0; i < PG_MAX_PORTS; i++) {
		const struct pg_port *p = &pg->ports[i];
		if (!p->defined && (p->check_smac || p->check_dmac || p->check_ttl))
			return usage_error("--expect-%s: port %d is not defined (--port)",
					   p->check_smac ? "smac" : p->check_dmac ? "dmac" : "ttl", i);
		if (!p->defined && (p->has_dst_mac || p->has_dst_ip))
			return usage_error("--dst-%s: port %d is not defined (--port)", p->has_dst_mac ? "mac" : "ip", i);
		for (int j = 0; j < i; j++)
			if (p->defined && pg->ports[j].defined && pg->ports[j].host_port == p->host_port)
				return usage_error("--port: ports %d and %d both bind UDP port %u", j, i, p->host_port);
	}
	for (int i = 0; i < pg->nb_mixes; i++)
		if (!pg->ports[pg->mixes[i].port].defined)
			return usage_error("--mix %d=%s: port %d is not defined (--port)",
					   pg->mixes[i].port, pg->mixes[i].path, pg->mixes[i].port);
	return 0;
}

/*
 * --duration sets the default count: a paced run sends rate x duration
 * frames over all streams, so --count does not stop it early; at --rate
 * max there is no such figure, and the count (which sizes the receive
 * bookkeeping, a bit per frame) must be given.
 */
static int duration_count(struct pktgen *pg)
{
	double per_stream;

	if (pg->duration_s == 0 || pg->count_given || !pg->nb_streams)
		return 0;
	if (pg->rate_max)
		return usage_error("--duration with --rate max needs --count N (frames per stream at most)");
	per_stream = pg->rate_pps * pg->duration_s / pg->nb_streams + 1;
	if (per_stream > UINT32_MAX)
		return usage_error("--duration %g at --rate %g: more than %u frames per stream; give --count",
				   pg->duration_s, pg->rate_pps, UINT32_MAX);
	pg->count = (uint64_t)per_stream;
	return 0;
}

static int check_combinations(struct pktgen *pg)
{
	bool any_port = false;
	bool any_expect = pg->expect_all || pg->expect_none || pg->expect_count;

	for (int i = 0; i < PG_MAX_PORTS; i++)
		any_port |= pg->ports[i].defined;
	if (!any_port)
		return usage_error("no --port given");
	if (pg->replay.path && pg->nb_streams)
		return usage_error("--replay cannot be combined with --stream");
	if (pg->replay.path && (pg->replay.port < 0 || !pg->ports[pg->replay.port].defined))
		return usage_error("--replay needs --tx-port naming a defined port");
	if (!pg->replay.path && pg->replay.port >= 0)
		return usage_error("--tx-port is for --replay");
	if (pg->expect_all + pg->expect_none + pg->expect_count > 1)
		return usage_error("--expect-all, --expect-none and --expect-count exclude each other");
	if (any_expect && !pg->nb_streams)
		return usage_error("--expect-* needs at least one --stream");
	if (pg->nb_mixes && !pg->nb_streams)
		return usage_error("--mix interleaves with streams: give at least one --stream");
	if (check_port_refs(pg))
		return -1;
	return duration_count(pg);
}

int cli_parse(struct pktgen *pg, int argc, char **argv)
{
	int opt;

	set_defaults(pg);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		if (opt == 'h') {
			cli_usage(stdout);
			exit(EXIT_PASS);
		}
		if (opt == '?')
			return usage_error("unknown option '%s'", argv[optind - 1]);
		if (opt == ':')
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		if (parse_option(pg, opt, optarg))
			return -1;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return check_combinations(pg);
}
