/*
 * wire: the UDP socket the capture NIC's frames arrive on, and the checks
 * on each datagram. QEMU's -netdev dgram sends every frame the image puts on
 * the capture port as one UDP datagram, without any framing of its own:
 *
 *   0      6      12   14                                46
 *   +------+------+----+---------------------------------+------------------+---------+
 *   | dst  | src  |88b5| struct capture_wire_hdr (32 B,  | cap_len bytes of | padding |
 *   |      |      |    | network byte order)             | the original     | (to 60) |
 *   +------+------+----+---------------------------------+------------------+---------+
 *
 * A frame shorter than 60 bytes may be padded by the sender, so the datagram
 * may be longer than 46 + cap_len, never shorter. Anything that does not
 * pass is counted by reason and skipped: it is somebody else's frame or a
 * damaged copy, not a reason to stop capturing.
 */
#include "pktcap.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/capture_wire.h"
#include "net/drop.h"

#define ETH_HDR_BYTES    14
#define WIRE_RCVBUF_BYTES (8 << 20)  /* a burst of copies must not overflow the socket */

_Static_assert((int)PC_POINT_RX == (int)CAPTURE_POINT_RX && (int)PC_POINT_TX == (int)CAPTURE_POINT_TX &&
	       (int)PC_POINT_DROP == (int)CAPTURE_POINT_DROP, "pktcap's points are the image's");
_Static_assert(offsetof(struct capture_wire_hdr, orig_len) == 12, "wire header layout");
_Static_assert(offsetof(struct capture_wire_hdr, ts_ns) == 20, "wire header layout");
_Static_assert(offsetof(struct capture_wire_hdr, seq) == 28, "wire header layout");

static const char *const drop_names[] = {
#define DROP_NAME(name, text) [DROP_##name] = text,
	DROP_REASONS(DROP_NAME)
#undef DROP_NAME
};

const char *drop_name(uint16_t reason)
{
	return reason < DROP__COUNT ? drop_names[reason] : NULL;
}

const char *wire_bad_name(enum pc_bad bad)
{
	static const char *const names[PC_BAD__COUNT] = {
		[PC_BAD_NONE]      = "none",
		[PC_BAD_TRUNCATED] = "truncated",
		[PC_BAD_SHORT]     = "short",
		[PC_BAD_ETHERTYPE] = "ethertype",
		[PC_BAD_MAGIC]     = "magic",
		[PC_BAD_VERSION]   = "version",
		[PC_BAD_POINT]     = "point",
		[PC_BAD_LENGTH]    = "length",
	};
	return names[bad];
}

int wire_open(int udp_port)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)udp_port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int bytes = WIRE_RCVBUF_BYTES;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		goto err;
	/* FORCE passes net.core.rmem_max when we may; otherwise take what we get. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)))
		goto err_close;
	return fd;

err_close:
	close(fd);
err:
	fprintf(stderr, "pktcap: capture UDP port 127.0.0.1:%d: %s\n", udp_port, strerror(errno));
	return -1;
}

static uint64_t load_be64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

enum pc_bad wire_parse(const uint8_t *dgram, size_t len, uint32_t snaplen, struct pc_frame *f)
{
	struct capture_wire_hdr h;
	uint16_t ethertype;

	if (len < ETH_HDR_BYTES + sizeof(h))
		return PC_BAD_SHORT;
	memcpy(&ethertype, dgram + 12, sizeof(ethertype));
	if (ntohs(ethertype) != CAPTURE_ETHERTYPE)
		return PC_BAD_ETHERTYPE;
	memcpy(&h, dgram + ETH_HDR_BYTES, sizeof(h));
	if (ntohl(h.magic) != CAPTURE_MAGIC)
		return PC_BAD_MAGIC;
	if (h.version != CAPTURE_VERSION)
		return PC_BAD_VERSION;
	if (h.point > CAPTURE_POINT_DROP)
		return PC_BAD_POINT;
	f->cap_len = ntohl(h.cap_len);
	f->orig_len = ntohl(h.orig_len);
	if (f->cap_len > f->orig_len || f->cap_len > snaplen ||
	    f->cap_len > len - ETH_HDR_BYTES - sizeof(h))
		return PC_BAD_LENGTH;
	f->point = h.point;
	f->port = ntohs(h.port);
	f->drop_reason = ntohs(h.drop_reason);
	f->ts_ns = load_be64(&h.ts_ns);
	f->seq = ntohl(h.seq);
	f->data = dgram + ETH_HDR_BYTES + sizeof(h);
	return PC_BAD_NONE;
}

/*
 * The image numbers copies 0, 1, 2, ... per capture. A jump forward is
 * copies lost between the image and us (the capture NIC's ring, QEMU, a
 * full UDP socket); a step back is a duplicate or a reordering, which
 * loopback UDP does not do, so it is only counted.
 */
void seq_account(struct pc_counters *c, uint32_t seq)
{
	int32_t ahead = (int32_t)(seq - (uint32_t)c->seq_next);

	if (ahead < 0) {
		c->seq_late++;
		return;
	}
	if (ahead > 0) {
		c->seq_lost += (uint64_t)ahead;
		c->seq_gaps++;
	}
	c->seq_next += (uint64_t)ahead + 1;
}
