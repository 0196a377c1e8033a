/*
 * cli: pktcap's command line, tcpdump-style: options, then the filter
 * expression (the remaining arguments, joined with spaces). Every value is
 * checked before a socket is opened; a bad one prints one line naming the
 * option and pktcap exits 2.
 */
#include "pktcap.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
"usage: pktcap [-i PORT]... [--point rx|tx|drop|any]... [-s SNAPLEN] [--queue N]\n"
"              [--control SOCKET] [--capture-udp HOST_PORT] [--run RUNFILE]\n"
"              [-w FILE|-] [-c COUNT] [--duration S] [--timeout S]\n"
"              [--reply-timeout S] [-d]\n"
"              ['FILTER EXPRESSION']\n"
"\n"
"Captures packets inside a running pktmetal image. The filter (tcpdump syntax,\n"
"compiled here with libpcap) runs in the image at the chosen capture points;\n"
"the copies arrive on the capture port's UDP socket.\n"
"\n"
"  -i PORT            pktmetal port number, or '*' for all (repeatable; default *)\n"
"  --point P          rx, tx, drop or any (= rx,tx,drop); repeatable; default rx\n"
"  -s SNAPLEN         bytes kept per packet, 1..65535 (0 or default: 65535)\n"
"  --queue N          copies the image may hold for the capture port at once,\n"
"                     1..its queue size (default: all of it); copies beyond\n"
"                     are counted as image queue drops\n"
"  --control SOCKET   unix socket of the image's control channel (COM2)\n"
"  --capture-udp PORT 127.0.0.1 UDP port the capture NIC's frames arrive on\n"
"  --run RUNFILE      JSON written by the QEMU launcher: control, capture_udp,\n"
"                     ports (default " PC_DEFAULT_RUN_FILE ", read when\n"
"                     --control or --capture-udp is missing)\n"
"  -w FILE|-          write pcapng to FILE or stdout (flushed per packet on a\n"
"                     pipe: pktcap -w - | tcpdump -r -); default: one line per\n"
"                     packet on stdout\n"
"  -c COUNT           stop after COUNT packets\n"
"  --duration S       stop after S seconds of capture\n"
"  --timeout S        stop after S seconds in all (a safety net for scripts)\n"
"  --reply-timeout S  wait S seconds for the image's answer to a command\n"
"                     (default 5)\n"
"  -d                 print the compiled filter and the start command, then exit\n"
"  -h, --help\n"
"\n"
"Stops on SIGINT/SIGTERM too, then sends 'capture stop' and prints a summary\n"
"on stderr. Exit status: 0 ok, 1 runtime failure (sockets, no reply from the\n"
"image in time, or --timeout before -c COUNT was reached), 2 usage or filter\n"
"error.\n";

enum {
	OPT_POINT = 256,
	OPT_CONTROL,
	OPT_CAPTURE_UDP,
	OPT_RUN,
	OPT_DURATION,
	OPT_TIMEOUT,
	OPT_REPLY_TIMEOUT,
	OPT_QUEUE,
};

static const struct option long_options[] = {
	{ "point",       required_argument, NULL, OPT_POINT },
	{ "control",     required_argument, NULL, OPT_CONTROL },
	{ "capture-udp", required_argument, NULL, OPT_CAPTURE_UDP },
	{ "run",         required_argument, NULL, OPT_RUN },
	{ "duration",    required_argument, NULL, OPT_DURATION },
	{ "timeout",     required_argument, NULL, OPT_TIMEOUT },
	{ "reply-timeout", required_argument, NULL, OPT_REPLY_TIMEOUT },
	{ "queue",       required_argument, NULL, OPT_QUEUE },
	{ "help",        no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int bad_value(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "pktcap: %s '%s': %s\n", opt, val, why);
	return -1;
}

/* A whole-string unsigned number in [min, max]. */
static int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
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

static int parse_seconds(const char *opt, const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !isfinite(v) || v <= 0 || v > 1e7)
		return bad_value(opt, s, "expected seconds > 0");
	*out = v;
	return 0;
}

static int add_port(struct pktcap *pc, const char *s)
{
	uint64_t v;

	if (!strcmp(s, "*") || !strcmp(s, "all") || !strcmp(s, "any")) {
		pc->all_ports = true;
		return 0;
	}
	if (!strncmp(s, "port", 4))
		s += 4;                    /* accept the pcapng interface names too */
	if (parse_uint(s, 0, PC_NB_WIRE_PORTS - 1, &v))
		return bad_value("-i", s, "expected a port number 0..65535 or '*'");
	for (int i = 0; i < pc->nb_sel_ports; i++)
		if (pc->sel_ports[i] == v)
			return 0;
	if (pc->nb_sel_ports == PC_MAX_PORTS)
		return bad_value("-i", s, "too many ports");
	pc->sel_ports[pc->nb_sel_ports++] = (uint16_t)v;
	return 0;
}

static int add_point(struct pktcap *pc, const char *s)
{
	if (!strcmp(s, "rx"))
		pc->point_mask |= 1u << PC_POINT_RX;
	else if (!strcmp(s, "tx"))
		pc->point_mask |= 1u << PC_POINT_TX;
	else if (!strcmp(s, "drop"))
		pc->point_mask |= 1u << PC_POINT_DROP;
	else if (!strcmp(s, "any"))
		pc->point_mask |= PC_POINT_MASK_ALL;
	else
		return bad_value("--point", s, "expected rx, tx, drop or any");
	return 0;
}

/* The filter is every remaining argument, as tcpdump joins them. */
static int join_filter(struct pktcap *pc, int argc, char **argv)
{
	size_t len = 1;

	for (int i = optind; i < argc; i++)
		len += strlen(argv[i]) + 1;
	pc->filter_expr = calloc(1, len);
	if (!pc->filter_expr)
		return -1;
	for (int i = optind; i < argc; i++) {
		if (i > optind)
			strcat(pc->filter_expr, " ");
		strcat(pc->filter_expr, argv[i]);
	}
	return 0;
}

static int parse_option(struct pktcap *pc, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case 'i':
		return add_port(pc, arg);
	case OPT_POINT:
		return add_point(pc, arg);
	case 's':
		if (parse_uint(arg, 0, 65535, &v))
			return bad_value("-s", arg, "expected 0..65535");
		pc->snaplen = v ? (uint32_t)v : PC_DEFAULT_SNAP;
		return 0;
	case OPT_QUEUE:
		if (parse_uint(arg, 1, UINT32_MAX, &v))
			return bad_value("--queue", arg, "expected a count >= 1");
		pc->queue = (uint32_t)v;
		return 0;
	case OPT_CONTROL:
		pc->control_path = arg;
		return 0;
	case OPT_CAPTURE_UDP:
		if (parse_uint(arg, 1, 65535, &v))
			return bad_value("--capture-udp", arg, "expected a UDP port 1..65535");
		pc->capture_udp = (int)v;
		return 0;
	case OPT_RUN:
		pc->run_path = arg;
		return 0;
	case 'w':
		pc->write_path = arg;
		return 0;
	case 'c':
		if (parse_uint(arg, 1, UINT64_MAX, &v))
			return bad_value("-c", arg, "expected a count >= 1");
		pc->count = v;
		return 0;
	case OPT_DURATION:
		return parse_seconds("--duration", arg, &pc->duration_s);
	case OPT_TIMEOUT:
		return parse_seconds("--timeout", arg, &pc->timeout_s);
	case OPT_REPLY_TIMEOUT:
		return parse_seconds("--reply-timeout", arg, &pc->reply_timeout_s);
	case 'd':
		pc->dump_program = true;
		return 0;
	}
	return -1;
}

/* 0 to go on, 1 after --help, -1 on a bad command line (message printed). */
int cli_parse(struct pktcap *pc, int argc, char **argv)
{
	int opt;

	pc->snaplen = PC_DEFAULT_SNAP;
	pc->reply_timeout_s = PC_REPLY_TIMEOUT_S;
	while ((opt = getopt_long(argc, argv, "i:s:w:c:dh", long_options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage_text, stdout);
			return 1;
		}
		if (opt == '?' || parse_option(pc, opt, optarg)) {
			fputs("pktcap: try 'pktcap --help'\n", stderr);
			return -1;
		}
	}
	if (!pc->nb_sel_ports)
		pc->all_ports = true;
	if (!pc->point_mask)
		pc->point_mask = 1u << PC_POINT_RX;
	return join_filter(pc, argc, argv);
}
