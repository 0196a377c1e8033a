/*
 * report: what pktgen tells the world. A progress line on stderr once a
 * second; at the end, on stdout, one "key value" line per stream and per
 * port, a total line and, when an expectation was given, the verdict:
 *
 *   stream 0->1: sent N received N lost 0 reordered 0 duplicate 0 corrupt 0 mac_mismatch 0 foreign 0
 *                [ttl_mismatch N] [tx_errors N] [latency_min_us X latency_avg_us X latency_max_us X]
 *   port 1: tx 0 rx N foreign 0 stray 0 corrupt 0 arp_replied 0 sock_drops 0 tx_errors 0 [peer_drops N]
 *   mix 0: port 0 sent N tx_errors 0 frames F from FILE      (one per --mix)
 *   total: offered P pps delivered P pps over T s sent N received N lost 0 pace_slips 0
 *   clock: start_ns N first_tx_ns N last_tx_ns N [duration_ended]
 *   result: PASS | result: FAIL (why; why)
 *
 * The clock line is CLOCK_MONOTONIC, the clock other processes on the host
 * read too (Python's time.monotonic()), so a test can line pktgen's sending
 * up with what it saw meanwhile.
 */
#include "pktgen.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000ull

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

void report_anomaly(struct pktgen *pg, const char *fmt, ...)
{
	va_list ap;

	if (!pg->verbose)
		return;
	pg->verbose--;
	fputs("pktgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(pg->verbose ? "\n" : "\npktgen: (no more anomalies printed)\n", stderr);
}

static uint64_t total_sent(const struct pktgen *pg)
{
	uint64_t n = 0;

	for (int i = 0; i < PG_MAX_PORTS; i++)
		n += pg->ports[i].c.tx;
	return n;
}

/* What the streams lost: --mix frames are sent but never expected back. */
static int64_t streams_lost(const struct pktgen *pg)
{
	int64_t n = 0;

	for (int i = 0; i < pg->nb_streams; i++)
		n += (int64_t)(pg->streams[i].sent - pg->streams[i].received);
	return n;
}

static uint64_t total_received(const struct pktgen *pg)
{
	uint64_t n = 0;

	for (int i = 0; i < pg->nb_streams; i++)
		n += pg->streams[i].received;
	if (!pg->nb_streams)                 /* replay or listen: count everything */
		for (int i = 0; i < PG_MAX_PORTS; i++)
			n += pg->ports[i].c.rx;
	return n;
}

void report_progress(struct pktgen *pg, uint64_t now_ns)
{
	static uint64_t next_ns, last_ns, last_sent, last_received;
	uint64_t sent, received;
	double dt;

	if (!next_ns) {
		next_ns = pg->start_ns + NS_PER_S;
		last_ns = pg->start_ns;
	}
	if (pg->quiet || now_ns < next_ns)
		return;
	sent = total_sent(pg);
	received = total_received(pg);
	dt = (double)(now_ns - last_ns) / 1e9;
	fprintf(stderr, "pktgen: %.1f s sent %llu received %llu loss %lld tx %.0f pps rx %.0f pps\n",
		(double)(now_ns - pg->start_ns) / 1e9, (unsigned long long)sent,
		(unsigned long long)received, (long long)streams_lost(pg),
		(double)(sent - last_sent) / dt, (double)(received - last_received) / dt);
	last_ns = now_ns;
	last_sent = sent;
	last_received = received;
	next_ns += NS_PER_S;
	if (next_ns < now_ns)
		next_ns = now_ns + NS_PER_S;
}

static void print_stream(const struct pktgen *pg, const struct pg_stream *s, FILE *out)
{
	fprintf(out, "stream %d->%d: sent %llu received %llu lost %llu reordered %llu duplicate %llu "
		"corrupt %llu mac_mismatch %llu foreign %llu", s->tx, s->rx,
		(unsigned long long)s->sent, (unsigned long long)s->received,
		(unsigned long long)(s->sent - (s->received < s->sent ? s->received : s->sent)),
		(unsigned long long)s->reordered, (unsigned long long)s->duplicate,
		(unsigned long long)s->corrupt, (unsigned long long)s->mac_mismatch,
		(unsigned long long)pg->ports[s->rx].c.foreign);
	if (pg->ports[s->rx].check_ttl)
		fprintf(out, " ttl_mismatch %llu", (unsigned long long)s->ttl_mismatch);
	if (s->tx_errors)
		fprintf(out, " tx_errors %llu", (unsigned long long)s->tx_errors);
	if (s->lat_samples)
		fprintf(out, " latency_min_us %.1f latency_avg_us %.1f latency_max_us %.1f",
			(double)s->lat_min_ns / 1e3, s->lat_sum_ns / (double)s->lat_samples / 1e3,
			(double)s->lat_max_ns / 1e3);
	fputc('\n', out);
}

/*
 * sock_drops: frames our socket dropped (pktgen too slow). peer_drops: frames
 * the socket on GUEST_PORT (QEMU's) dropped during the run, before the guest
 * could see them; left out when that socket is not in /proc/net/udp.
 */
static void print_port(int idx, const struct pg_port *p, FILE *out)
{
	const struct pg_port_counters *c = &p->c;
	int64_t peer_drops = ports_peer_drops(p->guest_port);

	fprintf(out, "port %d: tx %llu rx %llu foreign %llu stray %llu corrupt %llu arp_replied %llu "
		"sock_drops %llu tx_errors %llu", idx,
		(unsigned long long)c->tx, (unsigned long long)c->rx, (unsigned long long)c->foreign,
		(unsigned long long)c->stray, (unsigned long long)c->corrupt,
		(unsigned long long)c->arp_replied, (unsigned long long)c->sock_drops,
		(unsigned long long)c->tx_errors);
	if (peer_drops >= 0)
		fprintf(out, " peer_drops %lld", (long long)(peer_drops -
			(p->peer_drops_at_start > 0 ? p->peer_drops_at_start : 0)));
	fputc('\n', out);
}

static double per_second(uint64_t n, uint64_t span_ns)
{
	return span_ns ? (double)n * 1e9 / (double)span_ns : 0.0;
}

static void print_total(const struct pktgen *pg, FILE *out)
{
	uint64_t sent = total_sent(pg), received = total_received(pg);
	uint64_t end_ns = pg->last_rx_ns > pg->last_tx_ns ? pg->last_rx_ns : pg->last_tx_ns;
	uint64_t first_ns = pg->first_tx_ns ? pg->first_tx_ns : pg->start_ns;
	uint64_t send_span = pg->last_tx_ns > first_ns ? pg->last_tx_ns - first_ns : 0;
	uint64_t rx_span = pg->last_rx_ns > first_ns ? pg->last_rx_ns - first_ns : 0;
	uint64_t over = end_ns > first_ns ? end_ns - first_ns : 0;

	fprintf(out, "total: offered %.0f pps delivered %.0f pps over %.2f s sent %llu received %llu",
		per_second(sent, send_span), per_second(received, rx_span), (double)over / 1e9,
		(unsigned long long)sent, (unsigned long long)received);
	if (pg->nb_streams)
		fprintf(out, " lost %lld", (long long)streams_lost(pg));
	fprintf(out, " pace_slips %llu\n", (unsigned long long)pg->pace_slips);
}

static void print_mix(int idx, const struct pg_replay *m, FILE *out)
{
	fprintf(out, "mix %d: port %d sent %llu tx_errors %llu frames %llu from %s\n", idx, m->port,
		(unsigned long long)m->sent, (unsigned long long)m->tx_errors,
		(unsigned long long)m->nb_frames, m->path);
}

static void print_clock(const struct pktgen *pg, FILE *out)
{
	fprintf(out, "clock: start_ns %llu first_tx_ns %llu last_tx_ns %llu%s\n",
		(unsigned long long)pg->start_ns, (unsigned long long)pg->first_tx_ns,
		(unsigned long long)pg->last_tx_ns, pg->duration_ended ? " duration_ended" : "");
}

/* A growing "; "-separated list of reasons a run failed. */
struct verdict {
	char why[1024];
	size_t len;
};

static void fail(struct verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct verdict *v, const char *fmt, ...)
{
	va_list ap;

	if (v->len + 8 >= sizeof(v->why))
		return;
	if (v->len)
		v->len += (size_t)snprintf(v->why + v->len, sizeof(v->why) - v->len, "; ");
	va_start(ap, fmt);
	v->len += (size_t)vsnprintf(v->why + v->len, sizeof(v->why) - v->len, fmt, ap);
	va_end(ap);
	if (v->len >= sizeof(v->why))
		v->len = sizeof(v->why) - 1;
}

static void judge_stream_all(const struct pktgen *pg, const struct pg_stream *s, struct verdict *v)
{
	/* After --duration the plan is what was built by then. */
	uint64_t planned = pg->duration_ended ? s->next_index : pg->count;

	if (s->sent < planned)
		fail(v, "stream %d->%d sent %llu of %llu", s->tx, s->rx,
		     (unsigned long long)s->sent, (unsigned long long)planned);
	if (s->received < s->sent)
		fail(v, "stream %d->%d lost %llu", s->tx, s->rx, (unsigned long long)(s->sent - s->received));
	if (s->reordered)
		fail(v, "stream %d->%d reordered %llu", s->tx, s->rx, (unsigned long long)s->reordered);
	if (s->duplicate)
		fail(v, "stream %d->%d duplicate %llu", s->tx, s->rx, (unsigned long long)s->duplicate);
	if (s->corrupt)
		fail(v, "stream %d->%d corrupt %llu", s->tx, s->rx, (unsigned long long)s->corrupt);
	if (s->mac_mismatch)
		fail(v, "stream %d->%d mac_mismatch %llu", s->tx, s->rx, (unsigned long long)s->mac_mismatch);
	if (s->ttl_mismatch)
		fail(v, "stream %d->%d ttl_mismatch %llu", s->tx, s->rx, (unsigned long long)s->ttl_mismatch);
}

static void judge_expect_all(const struct pktgen *pg, struct verdict *v)
{
	uint64_t corrupt_ports = 0, corrupt_streams = 0;

	for (int i = 0; i < pg->nb_streams; i++) {
		judge_stream_all(pg, &pg->streams[i], v);
		corrupt_streams += pg->streams[i].corrupt;
	}
	for (int i = 0; i < PG_MAX_PORTS; i++)
		corrupt_ports += pg->ports[i].c.corrupt;
	if (corrupt_ports > corrupt_streams)
		fail(v, "%llu corrupt frames not attributable to a stream",
		     (unsigned long long)(corrupt_ports - corrupt_streams));
}

static void judge_expect_none(const struct pktgen *pg, struct verdict *v)
{
	for (int i = 0; i < PG_MAX_PORTS; i++) {
		const struct pg_port *p = &pg->ports[i];
		if (p->is_rx && p->c.ours)
			fail(v, "%llu test frames arrived on port %d", (unsigned long long)p->c.ours, i);
	}
}

static void judge(const struct pktgen *pg, struct verdict *v)
{
	uint64_t received = total_received(pg);

	if (pg->interrupted)
		fail(v, "interrupted");
	if (pg->timed_out && !tx_done(pg))
		fail(v, "timeout after %g s with %llu frames not sent", pg->timeout_s,
		     (unsigned long long)(pg->total_frames - pg->generated));
	if (pg->expect_all)
		judge_expect_all(pg, v);
	if (pg->expect_none)
		judge_expect_none(pg, v);
	if (pg->expect_count && received != pg->expect_count_n)
		fail(v, "received %llu test frames, expected %llu", (unsigned long long)received,
		     (unsigned long long)pg->expect_count_n);
}

/* Prints the summary; returns the exit status. */
int report_summary(struct pktgen *pg, FILE *out)
{
	bool expecting = pg->expect_all || pg->expect_none || pg->expect_count;
	bool sending = pg->nb_streams || pg->replay.path;
	struct verdict v = { .len = 0 };

	for (int i = 0; i < pg->nb_streams; i++)
		print_stream(pg, &pg->streams[i], out);
	for (int i = 0; i < PG_MAX_PORTS; i++)
		if (pg->ports[i].defined)
			print_port(i, &pg->ports[i], out);
	if (pg->replay.path)
		fprintf(out, "replay: sent %llu of %llu frames from %s on port %d\n",
			(unsigned long long)pg->ports[pg->replay.port].c.tx,
			(unsigned long long)pg->replay.nb_frames, pg->replay.path, pg->replay.port);
	for (int i = 0; i < pg->nb_mixes; i++)
		print_mix(i, &pg->mixes[i], out);
	print_total(pg, out);
	print_clock(pg, out);
	if (sending)                       /* listening ends at --timeout or SIGINT by design */
		judge(pg, &v);
	if (v.len)
		fprintf(out, "result: FAIL (%s)\n", v.why);
	else if (expecting)
		fprintf(out, "result: PASS\n");
	fflush(out);
	return v.len ? EXIT_FAIL : EXIT_PASS;
}
