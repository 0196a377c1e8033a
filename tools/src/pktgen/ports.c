/*
 * ports: one UDP socket per simulated host, bound to 127.0.0.1:HOST_PORT.
 *
 * Buffers are made large because a short stall of pktgen (or of QEMU on the
 * other side) must not drop frames in our own socket; as root SO_RCVBUFFORCE
 * goes past net.core.rmem_max. SO_RXQ_OVFL makes the kernel report how many
 * datagrams the socket dropped anyway, so pktgen can tell its own drops from
 * the guest's (rx.c reads the count). The socket on the other end, QEMU's,
 * reports its drops only in /proc/net/udp (TRAPS.md): ports_peer_drops reads
 * them, so the summary can say which frames QEMU never read.
 */
#include "pktgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PG_RCVBUF_BYTES (32 << 20)
#define PG_SNDBUF_BYTES (8 << 20)

/* The FORCE variant needs CAP_NET_ADMIN; without it the sysctl cap applies. */
static void set_buffer(int fd, int force_opt, int opt, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) == 0)
		return;
	setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	return a;
}

static int port_open(struct pg_port *p, int idx)
{
	struct sockaddr_in local = loopback(p->host_port);
	int one = 1;

	p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		fprintf(stderr, "pktgen: port %d: socket: %s\n", idx, strerror(errno));
		return -1;
	}
	set_buffer(p->fd, SO_RCVBUFFORCE, SO_RCVBUF, PG_RCVBUF_BYTES);
	set_buffer(p->fd, SO_SNDBUFFORCE, SO_SNDBUF, PG_SNDBUF_BYTES);
	setsockopt(p->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	if (bind(p->fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
		fprintf(stderr, "pktgen: port %d: bind 127.0.0.1:%u: %s\n", idx, p->host_port, strerror(errno));
		close(p->fd);
		p->fd = -1;
		return -1;
	}
	p->guest_addr = loopback(p->guest_port);
	p->peer_drops_at_start = ports_peer_drops(p->guest_port);
	return 0;
}

int ports_open(struct pktgen *pg)
{
	for (int i = 0; i < PG_MAX_PORTS; i++)
		if (pg->ports[i].defined && port_open(&pg->ports[i], i) < 0)
			return -1;
	return 0;
}

void ports_close(struct pktgen *pg)
{
	for (int i = 0; i < PG_MAX_PORTS; i++) {
		if (pg->ports[i].fd >= 0)
			close(pg->ports[i].fd);
		pg->ports[i].fd = -1;
	}
}

/* Fills one pollfd per open port; port_of maps the entry back. Returns the count. */
int ports_poll_fds(struct pktgen *pg, struct pollfd *fds, int *port_of)
{
	int n = 0;

	for (int i = 0; i < PG_MAX_PORTS; i++) {
		if (pg->ports[i].fd < 0)
			continue;
		fds[n] = (struct pollfd){ .fd = pg->ports[i].fd, .events = POLLIN };
		port_of[n++] = i;
	}
	return n;
}

/*
 * The drops column of the /proc/net/udp row whose local address is
 * 127.0.0.1:port (the file prints it as 0100007F:PORT in hex), or -1 when
 * no such socket exists (QEMU not running, another network namespace).
 */
int64_t ports_peer_drops(uint16_t port)
{
	char line[512], want[32];
	FILE *f = fopen("/proc/net/udp", "r");
	int64_t drops = -1;

	if (!f)
		return -1;
	/* The kernel prints the raw big-endian address as a host integer. */
	snprintf(want, sizeof(want), "%08X:%04X", (unsigned)htonl(INADDR_LOOPBACK), port);
	while (drops < 0 && fgets(line, sizeof(line), f)) {
		char local[32];
		unsigned long long d;
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops */
		if (sscanf(line, " %*s %31s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu", local, &d) == 2 &&
		    !strcmp(local, want))
			drops = (int64_t)d;
	}
	fclose(f);
	return drops;
}
