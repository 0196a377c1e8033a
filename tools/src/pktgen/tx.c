/*
 * tx: what pktgen sends and when.
 *
 * Frames are generated in one global order, round robin over the streams:
 * global sequence g belongs to stream g % nb_streams and is that stream's
 * frame k = g / nb_streams, which is flow k % flows, per-flow sequence
 * k / flows. The receiver (rx.c) inverts the same arithmetic.
 *
 * Pacing: frame g is due at pace_start + g / rate. Each loop turn builds the
 * frames that are due (at most tx_burst), queues them per port and sends each
 * port's queue with one sendmmsg. When pktgen falls behind by more than a few
 * milliseconds (descheduled, a slow pcap write) the schedule is moved forward
 * rather than caught up in one burst: a burst is exactly what overflows
 * QEMU's small socket buffer (TRAPS.md). Each such move counts as a slip.
 *
 * --duration ends the sending at start + duration whatever --count says:
 * the frames not yet built are dropped from the plan, so every stream is
 * judged on what it sent.
 *
 * --mix: after every mix_every-th stream frame, each mix source adds its
 * next frame (cycling through its pcap) to its port's queue, unchanged and
 * outside the pacing: the mix rides on top of --rate. Frame i of a source of
 * F frames that sent N in all went out N / F + (i < N % F) times, which is
 * what a test needs to know what each frame should have caused.
 */
#include "pktgen.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define FLOW_SPORT_BASE 49152    /* flows use the dynamic port range (RFC 6335) */
#define FLOW_SPORTS     16384
#define MAX_LAG_NS      5000000  /* 5 ms behind schedule: slip instead of burst */

/* stream_of for frames that belong to no stream */
#define TX_REPLAY   (-1)
#define TX_MIX(i)   (-2 - (i))              /* mix source i */
#define TX_MIX_OF(s) (-2 - (s))

struct tx_queue {
	unsigned n;
	int stream_of[PG_BURST];            /* stream index, TX_REPLAY or TX_MIX(i) */
	struct mmsghdr msgs[PG_BURST];
	struct iovec iov[PG_BURST];
	uint8_t buf[PG_BURST][FRAME_MAX_BYTES];
};

/* IMIX 7:4:1 of 60, 590 and 1514 bytes, interleaved so any 12 frames hold the mix. */
static const uint16_t imix_pattern[12] = { 60, 590, 60, 590, 60, 1514, 60, 590, 60, 590, 60, 60 };

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint16_t frame_size(const struct pktgen *pg, int stream, uint64_t k)
{
	switch (pg->size_kind) {
	case PG_SIZE_IMIX:
		return imix_pattern[k % 12];
	case PG_SIZE_RANGE:
		return (uint16_t)(pg->size_min +
			splitmix64(k << 8 | (uint64_t)stream) % (pg->size_max - pg->size_min + 1u));
	case PG_SIZE_FIXED:
		break;
	}
	return pg->size_min;
}

static void stream_addresses(struct pktgen *pg, struct pg_stream *s)
{
	const struct pg_port *tx = &pg->ports[s->tx], *rx = &pg->ports[s->rx];
	struct frame_addr *a = &s->addr;

	memcpy(a->smac, tx->mac, 6);
	memcpy(a->dmac, tx->has_dst_mac ? tx->dst_mac : pg->has_dst_mac ? pg->dst_mac : rx->mac, 6);
	a->sip = tx->ip;
	a->dip = tx->has_dst_ip ? tx->dst_ip : pg->has_dst_ip ? pg->dst_ip : rx->ip;
	a->sport = FLOW_SPORT_BASE;
	a->dport = pg->udp_dport;
	a->ttl = pg->ttl;
}

static struct tx_queue *txq_alloc(struct pg_port *port)
{
	struct tx_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	for (int i = 0; i < PG_BURST; i++) {
		q->iov[i].iov_base = q->buf[i];
		q->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &port->guest_addr,
			.msg_namelen = sizeof(port->guest_addr),
			.msg_iov = &q->iov[i],
			.msg_iovlen = 1,
		};
	}
	return q;
}

int tx_init(struct pktgen *pg)
{
	unsigned nb_tx_ports = 0;

	for (int i = 0; i < pg->nb_streams; i++)
		stream_addresses(pg, &pg->streams[i]);
	for (int i = 0; i < PG_MAX_PORTS; i++) {
		struct pg_port *p = &pg->ports[i];
		if (!p->defined)
			continue;
		p->txq = txq_alloc(p);
		if (!p->txq)
			return -1;
	}
	for (int i = 0; i < PG_MAX_PORTS; i++) {
		bool sends = i == pg->replay.port;
		for (int j = 0; j < pg->nb_streams; j++)
			sends |= pg->streams[j].tx == i;
		nb_tx_ports += sends;
	}
	pg->tx_burst = PG_BURST * (nb_tx_ports ? nb_tx_ports : 1);
	pg->total_frames = pg->replay.path ? pg->replay.nb_frames : pg->count * (uint64_t)pg->nb_streams;
	return 0;
}

bool tx_done(const struct pktgen *pg)
{
	return pg->generated == pg->total_frames;
}

uint64_t tx_next_due_ns(const struct pktgen *pg)
{
	if (tx_done(pg))
		return UINT64_MAX;
	if (pg->rate_max)
		return 0;
	return pg->pace_start_ns + (uint64_t)((double)pg->generated * 1e9 / pg->rate_pps);
}

/* --duration: true (and the plan cut to what was built) once it is over. */
static bool duration_over(struct pktgen *pg, uint64_t now_ns)
{
	if (pg->duration_s == 0 || now_ns - pg->start_ns < (uint64_t)(pg->duration_s * 1e9))
		return false;
	if (pg->generated < pg->total_frames) {
		pg->total_frames = pg->generated;
		pg->duration_ended = true;
	}
	return true;
}

static uint64_t frames_due(struct pktgen *pg, uint64_t now_ns)
{
	uint64_t left = pg->total_frames - pg->generated;
	uint64_t allowed, lag_frames;

	if (duration_over(pg, now_ns))
		return 0;
	if (pg->rate_max)
		return left;
	/* Frame g is due at pace_start + g / rate, so frame 0 goes out at once. */
	allowed = (uint64_t)((double)(now_ns - pg->pace_start_ns) * pg->rate_pps / 1e9) + 1;
	if (allowed <= pg->generated)
		return 0;
	lag_frames = (uint64_t)(pg->rate_pps * MAX_LAG_NS / 1e9);
	if (lag_frames < PG_BURST)
		lag_frames = PG_BURST;
	if (allowed - pg->generated > lag_frames) {
		pg->pace_start_ns = now_ns - (uint64_t)((double)(pg->generated + lag_frames - 1) * 1e9 / pg->rate_pps);
		pg->pace_slips++;
		allowed = pg->generated + lag_frames;
	}
	return allowed - pg->generated < left ? allowed - pg->generated : left;
}

static void count_sent(struct pktgen *pg, struct pg_port *port, int stream, bool ok)
{
	struct pg_replay *mix = stream <= TX_MIX(0) ? &pg->mixes[TX_MIX_OF(stream)] : NULL;

	if (ok) {
		port->c.tx++;
		if (stream >= 0)
			pg->streams[stream].sent++;
		if (mix)
			mix->sent++;
		return;
	}
	port->c.tx_errors++;
	if (stream >= 0)
		pg->streams[stream].tx_errors++;
	if (mix)
		mix->tx_errors++;
}

static void flush(struct pktgen *pg, struct pg_port *port, uint64_t now_ns)
{
	struct tx_queue *q = port->txq;
	unsigned done = 0;

	while (done < q->n) {
		int r = sendmmsg(port->fd, q->msgs + done, q->n - done, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (port->c.tx_errors == 0)
				fprintf(stderr, "pktgen: sendmmsg to 127.0.0.1:%u: %s\n", port->guest_port, strerror(errno));
			count_sent(pg, port, q->stream_of[done++], false);
			continue;
		}
		for (int i = 0; i < r; i++)
			count_sent(pg, port, q->stream_of[done + i], true);
		done += r;
	}
	if (q->n && !pg->first_tx_ns)
		pg->first_tx_ns = now_ns;
	pg->last_tx_ns = now_ns;
	q->n = 0;
}

/* A frame sent as it is, from memory that outlives the send (a loaded pcap). */
static void enqueue_raw(struct pktgen *pg, struct pg_port *port, uint8_t *frame, uint32_t len,
			int stream_of, uint64_t now_ns)
{
	struct tx_queue *q = port->txq;

	if (q->n == PG_BURST)
		flush(pg, port, now_ns);
	q->iov[q->n].iov_base = frame;
	q->iov[q->n].iov_len = len;
	q->stream_of[q->n++] = stream_of;
}

static void enqueue_mix_frames(struct pktgen *pg, uint64_t now_ns)
{
	for (int i = 0; i < pg->nb_mixes; i++) {
		struct pg_replay *m = &pg->mixes[i];
		uint64_t f = m->next++ % m->nb_frames;

		enqueue_raw(pg, &pg->ports[m->port], m->frames[f], m->lens[f], TX_MIX(i), now_ns);
	}
}

static void enqueue_stream_frame(struct pktgen *pg, uint64_t now_ns)
{
	uint64_t g = pg->generated++;
	int si = (int)(g % pg->nb_streams);
	struct pg_stream *s = &pg->streams[si];
	struct pg_port *port = &pg->ports[s->tx];
	struct tx_queue *q = port->txq;
	uint64_t k = s->next_index++;
	uint32_t flow = (uint32_t)(k % pg->flows);
	uint16_t len = frame_size(pg, si, k);
	struct frame_addr a = s->addr;
	struct pg_tag tag = {
		.stream = (uint8_t)si, .run = pg->run_tag, .flow = flow,
		.flow_seq = (uint32_t)(k / pg->flows), .frame_len = len,
		.global_seq = g, .tx_ns = now_ns,
	};

	if (q->n == PG_BURST)
		flush(pg, port, now_ns);
	a.sip += flow / FLOW_SPORTS;
	a.sport = (uint16_t)(a.sport + flow % FLOW_SPORTS);
	a.ip_id = (uint16_t)g;
	q->iov[q->n].iov_base = q->buf[q->n];
	q->iov[q->n].iov_len = frame_build(q->buf[q->n], len, &a, &tag);
	q->stream_of[q->n++] = si;
	if (pg->nb_mixes && (g + 1) % pg->mix_every == 0)
		enqueue_mix_frames(pg, now_ns);
}

static void enqueue_replay_frame(struct pktgen *pg, uint64_t now_ns)
{
	uint64_t g = pg->generated++;

	/* Sent straight from the loaded file: no copy, no change. */
	enqueue_raw(pg, &pg->ports[pg->replay.port], pg->replay.frames[g], pg->replay.lens[g],
		    TX_REPLAY, now_ns);
}

unsigned tx_run(struct pktgen *pg, uint64_t now_ns)
{
	uint64_t due = frames_due(pg, now_ns);

	if (due > pg->tx_burst)
		due = pg->tx_burst;
	for (uint64_t i = 0; i < due; i++) {
		if (pg->replay.path)
			enqueue_replay_frame(pg, now_ns);
		else
			enqueue_stream_frame(pg, now_ns);
	}
	for (int i = 0; i < PG_MAX_PORTS; i++)
		if (pg->ports[i].defined && pg->ports[i].txq->n)
			flush(pg, &pg->ports[i], now_ns);
	return (unsigned)due;
}

static int replay_append(struct pg_replay *r, const struct pcap_pkthdr *h, const uint8_t *data)
{
	uint64_t n = r->nb_frames;

	if ((n & (n - 1)) == 0) {        /* grow at powers of two */
		uint64_t cap = n ? n * 2 : 64;
		uint8_t **frames = realloc(r->frames, cap * sizeof(*frames));
		uint32_t *lens = frames ? realloc(r->lens, cap * sizeof(*lens)) : NULL;
		if (frames)
			r->frames = frames;
		if (!lens)
			return -1;
		r->lens = lens;
	}
	r->frames[n] = malloc(h->caplen ? h->caplen : 1);
	if (!r->frames[n])
		return -1;
	memcpy(r->frames[n], data, h->caplen);
	r->lens[n] = h->caplen;
	r->nb_frames++;
	return 0;
}

/* Loads every frame of r's pcap; a frame captured short is sent short.
 * opt names the option in messages. */
static int pcap_load(struct pg_replay *r, const char *opt)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *p = pcap_open_offline(r->path, err);
	int rc = 0, ret;

	if (!p) {
		fprintf(stderr, "pktgen: %s %s: %s\n", opt, r->path, err);
		return -1;
	}
	if (pcap_datalink(p) != DLT_EN10MB) {
		fprintf(stderr, "pktgen: %s %s: link type %s, want Ethernet (EN10MB)\n",
			opt, r->path, pcap_datalink_val_to_name(pcap_datalink(p)));
		pcap_close(p);
		return -1;
	}
	while ((ret = pcap_next_ex(p, &h, &data)) == 1 && rc == 0)
		rc = replay_append(r, h, data);
	if (ret == PCAP_ERROR)
		fprintf(stderr, "pktgen: %s %s: %s\n", opt, r->path, pcap_geterr(p));
	pcap_close(p);
	if (rc)
		fprintf(stderr, "pktgen: %s %s: out of memory\n", opt, r->path);
	return rc || ret == PCAP_ERROR ? -1 : 0;
}

int replay_load(struct pktgen *pg)
{
	return pcap_load(&pg->replay, "--replay");
}

/* Loads every --mix file; one with no frames is an error (nothing to cycle). */
int mixes_load(struct pktgen *pg)
{
	for (int i = 0; i < pg->nb_mixes; i++) {
		if (pcap_load(&pg->mixes[i], "--mix"))
			return -1;
		if (!pg->mixes[i].nb_frames) {
			fprintf(stderr, "pktgen: --mix %s: no frames in the file\n", pg->mixes[i].path);
			return -1;
		}
	}
	return 0;
}
