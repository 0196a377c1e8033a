/*
 * rx: everything pktgen receives, classified and accounted.
 *
 * Every defined port is read, not only the streams' RX ports, so a frame
 * that went the wrong way (flooding, a wrong port pair) shows up as "stray"
 * instead of rotting in a socket buffer. Each datagram is, in this order:
 * written to the pcap; answered when it is an ARP request for the port's
 * ip=; foreign when it carries no tag of this run; corrupt when its tag does
 * not match its contents; stray when its stream ends on another port;
 * otherwise accounted to its stream:
 *
 *   k = flow_seq * flows + flow        frame index within the stream
 *   seen[k] already set                duplicate
 *   flow_seq < flow_next_seq[flow]     reordered (arrived after a later one)
 *
 * Loss is what was sent and never seen: sent - received.
 */
#include "pktgen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct rx_batch {
	struct mmsghdr msgs[PG_BURST];
	struct iovec iov[PG_BURST];
	uint8_t ctrl[PG_BURST][CMSG_SPACE(sizeof(uint32_t))];
	uint8_t buf[PG_BURST][PG_RX_SLOT_BYTES];
};

static int stream_rx_init(struct pktgen *pg, struct pg_stream *s)
{
	uint32_t nb_flows = pg->flows < pg->count ? pg->flows : (uint32_t)pg->count;

	s->flow_next_seq = calloc(nb_flows, sizeof(*s->flow_next_seq));
	s->seen = calloc((pg->count + 63) / 64, sizeof(*s->seen));
	s->lat_min_ns = UINT64_MAX;
	pg->ports[s->rx].is_rx = true;
	return s->flow_next_seq && s->seen ? 0 : -1;
}

int rx_init(struct pktgen *pg)
{
	for (int i = 0; i < pg->nb_streams; i++)
		if (stream_rx_init(pg, &pg->streams[i]))
			return -1;
	for (int i = 0; i < PG_MAX_PORTS; i++) {
		struct pg_port *p = &pg->ports[i];
		if (!p->defined)
			continue;
		p->rxb = calloc(1, sizeof(*p->rxb));
		if (!p->rxb)
			return -1;
		for (int j = 0; j < PG_BURST; j++) {
			p->rxb->iov[j] = (struct iovec){ p->rxb->buf[j], PG_RX_SLOT_BYTES };
			p->rxb->msgs[j].msg_hdr.msg_iov = &p->rxb->iov[j];
			p->rxb->msgs[j].msg_hdr.msg_iovlen = 1;
		}
	}
	return 0;
}

static void check_macs(struct pktgen *pg, struct pg_stream *s, const struct pg_port *port,
		       const uint8_t *frame)
{
	const struct eth_hdr *eth = (const struct eth_hdr *)frame;
	bool bad_src = port->check_smac && memcmp(eth->src, port->expect_smac, 6);
	bool bad_dst = port->check_dmac && memcmp(eth->dst, port->expect_dmac, 6);

	if (!bad_src && !bad_dst)
		return;
	s->mac_mismatch++;
	report_anomaly(pg, "stream %d->%d: MAC mismatch: dst %02x:%02x:%02x:%02x:%02x:%02x src %02x:%02x:%02x:%02x:%02x:%02x",
		       s->tx, s->rx, eth->dst[0], eth->dst[1], eth->dst[2], eth->dst[3], eth->dst[4], eth->dst[5],
		       eth->src[0], eth->src[1], eth->src[2], eth->src[3], eth->src[4], eth->src[5]);
}

static void check_ttl(struct pktgen *pg, struct pg_stream *s, const struct pg_port *port,
		      const uint8_t *frame)
{
	const struct ipv4_hdr *ip = (const struct ipv4_hdr *)(frame + sizeof(struct eth_hdr));

	if (!port->check_ttl || ip->ttl == port->expect_ttl)
		return;
	s->ttl_mismatch++;
	report_anomaly(pg, "stream %d->%d: TTL %u, expected %u", s->tx, s->rx, ip->ttl, port->expect_ttl);
}

static void account_latency(struct pg_stream *s, const struct pg_tag *tag, uint64_t now_ns)
{
	uint64_t lat;

	if (!tag->has_ext || now_ns < tag->tx_ns)
		return;
	lat = now_ns - tag->tx_ns;
	s->lat_samples++;
	s->lat_sum_ns += (double)lat;
	if (lat < s->lat_min_ns)
		s->lat_min_ns = lat;
	if (lat > s->lat_max_ns)
		s->lat_max_ns = lat;
}

static void account_stream_frame(struct pktgen *pg, struct pg_stream *s, const struct pg_port *port,
				 const uint8_t *frame, const struct pg_tag *tag, uint64_t now_ns)
{
	uint64_t k = (uint64_t)tag->flow_seq * pg->flows + tag->flow;
	uint64_t bit = 1ull << (k % 64);

	if (tag->flow >= pg->flows || k >= pg->count) {   /* a valid checksum over a bad tag */
		s->corrupt++;
		report_anomaly(pg, "stream %d->%d: tag out of range: flow %u seq %u", s->tx, s->rx, tag->flow, tag->flow_seq);
		return;
	}
	if (s->seen[k / 64] & bit) {
		s->duplicate++;
		report_anomaly(pg, "stream %d->%d: duplicate flow %u seq %u", s->tx, s->rx, tag->flow, tag->flow_seq);
		return;
	}
	s->seen[k / 64] |= bit;
	s->received++;
	pg->last_rx_ns = now_ns;
	if (tag->flow_seq < s->flow_next_seq[tag->flow]) {
		s->reordered++;
		report_anomaly(pg, "stream %d->%d: flow %u seq %u after seq %u", s->tx, s->rx, tag->flow,
			       tag->flow_seq, s->flow_next_seq[tag->flow] - 1);
	} else {
		s->flow_next_seq[tag->flow] = tag->flow_seq + 1;
	}
	check_macs(pg, s, port, frame);
	check_ttl(pg, s, port, frame);
	account_latency(s, tag, now_ns);
}

static void answer_arp(struct pg_port *port, const uint8_t *req)
{
	uint8_t reply[FRAME_MIN_BYTES];
	size_t len = frame_build_arp_reply(reply, req, port->mac, port->ip);

	if (sendto(port->fd, reply, len, 0, (struct sockaddr *)&port->guest_addr, sizeof(port->guest_addr)) == (ssize_t)len)
		port->c.arp_replied++;
	else
		port->c.tx_errors++;
}

static void blame_corrupt(struct pktgen *pg, int port_idx, const struct pg_tag *tag, enum frame_verdict v)
{
	struct pg_port *port = &pg->ports[port_idx];

	port->c.corrupt++;
	if (tag->stream < pg->nb_streams && pg->streams[tag->stream].rx == port_idx)
		pg->streams[tag->stream].corrupt++;
	report_anomaly(pg, "port %d: corrupt frame (%s), claims stream %u flow %u seq %u len %u",
		       port_idx, frame_verdict_name(v), tag->stream, tag->flow, tag->flow_seq, tag->frame_len);
}

static void handle_frame(struct pktgen *pg, int port_idx, const uint8_t *frame, size_t len, uint64_t now_ns)
{
	struct pg_port *port = &pg->ports[port_idx];
	struct pg_tag tag;
	enum frame_verdict v;

	if (port->has_ip && frame_is_arp_request_for(frame, len, port->ip)) {
		answer_arp(port, frame);
		return;
	}
	v = frame_parse(frame, len, &tag);
	if (v == FRAME_FOREIGN || (v == FRAME_OURS && (tag.run != pg->run_tag || tag.stream >= pg->nb_streams))) {
		port->c.foreign++;
		if (!pg->nb_streams)
			pg->last_progress_ns = now_ns;   /* replay: any answer is progress */
		return;
	}
	port->c.ours++;
	pg->last_progress_ns = now_ns;
	if (v != FRAME_OURS) {
		blame_corrupt(pg, port_idx, &tag, v);
		return;
	}
	if (pg->streams[tag.stream].rx != port_idx) {
		port->c.stray++;
		return;
	}
	account_stream_frame(pg, &pg->streams[tag.stream], port, frame, &tag, now_ns);
}

/* The kernel attaches its running drop count to a datagram once it is non-zero. */
static void read_sock_drops(struct pg_port *port, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		uint32_t drops;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL)
			continue;
		memcpy(&drops, CMSG_DATA(c), sizeof(drops));
		if (drops > port->c.sock_drops)
			port->c.sock_drops = drops;
	}
}

/* Receives one burst on a port; returns the number of datagrams. */
unsigned rx_poll(struct pktgen *pg, struct pg_port *port)
{
	struct rx_batch *b = port->rxb;
	int port_idx = (int)(port - pg->ports);
	uint64_t now_ns;
	int n;

	for (int i = 0; i < PG_BURST; i++) {
		b->msgs[i].msg_hdr.msg_control = b->ctrl[i];
		b->msgs[i].msg_hdr.msg_controllen = sizeof(b->ctrl[i]);
	}
	/* MSG_TRUNC: msg_len is the datagram's real length even when it did not fit. */
	n = recvmmsg(port->fd, b->msgs, PG_BURST, MSG_DONTWAIT | MSG_TRUNC, NULL);
	if (n <= 0)
		return 0;
	now_ns = mono_ns();
	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &b->msgs[i].msg_hdr;
		uint32_t len = b->msgs[i].msg_len;
		uint32_t caplen = len < PG_RX_SLOT_BYTES ? len : PG_RX_SLOT_BYTES;

		port->c.rx++;
		read_sock_drops(port, mh);
		if (pg->capture)
			capture_write(pg->capture, b->buf[i], caplen, len);
		if (mh->msg_flags & MSG_TRUNC)
			port->c.foreign++;          /* longer than any frame pktgen sends */
		else
			handle_frame(pg, port_idx, b->buf[i], len, now_ns);
	}
	return (unsigned)n;
}

bool rx_all_arrived(const struct pktgen *pg)
{
	for (int i = 0; i < pg->nb_streams; i++)
		if (pg->streams[i].received < pg->streams[i].sent)
			return false;
	return pg->nb_streams > 0;
}
