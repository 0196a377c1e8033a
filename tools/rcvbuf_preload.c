/*
 * rcvbuf_preload: an LD_PRELOAD shim that enlarges the receive buffer of
 * every IPv4/IPv6 UDP socket a process binds. Meant for QEMU only:
 *
 *   PKTMETAL_RCVBUF=16M LD_PRELOAD=build/tools/rcvbuf_preload.so qemu-system-x86_64 ...
 *
 * Why (TRAPS.md): QEMU's `-netdev dgram` sockets keep the host default
 * receive buffer (~208 KiB, a few hundred small frames), so a short stall of
 * QEMU on a busy two-core host drops frames in the host kernel before the
 * guest could see them. QEMU has no option for the size; its dgram back end
 * does socket() + bind(), so bind() is where the shim steps in.
 *
 * PKTMETAL_RCVBUF is a byte count with an optional K/M/G suffix (default
 * 8 MiB). SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it SO_RCVBUF is used,
 * which the kernel caps at net.core.rmem_max. PKTMETAL_RCVBUF_VERBOSE=1
 * prints what was set to stderr. Results measured with the shim must say so.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#define DEFAULT_RCVBUF_BYTES (8 << 20)

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

static int rcvbuf_bytes(void)
{
	const char *s = getenv("PKTMETAL_RCVBUF");
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return DEFAULT_RCVBUF_BYTES;
	v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	/* The kernel doubles the value it is given; stay clear of INT_MAX. */
	if (*end || v == 0 || v > (1ull << 30))
		return DEFAULT_RCVBUF_BYTES;
	return (int)v;
}

static void enlarge_rcvbuf(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	int type, bytes, got;
	socklen_t len = sizeof(type);
	const char *how = "SO_RCVBUFFORCE";

	if (!addr || addrlen < sizeof(sa_family_t) || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) || type != SOCK_DGRAM)
		return;
	bytes = rcvbuf_bytes();
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes))) {
		how = "SO_RCVBUF";
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	}
	if (getenv("PKTMETAL_RCVBUF_VERBOSE")) {
		len = sizeof(got);
		getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
		fprintf(stderr, "rcvbuf_preload: fd %d: %s %d, kernel reports %d\n", fd, how, bytes, got);
	}
}

int bind(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	static bind_fn real_bind;
	int saved_errno = errno;

	if (!real_bind) {
		real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
		if (!real_bind) {
			errno = ENOSYS;
			return -1;
		}
	}
	/* Before the real bind: no frame can arrive into a small buffer. */
	enlarge_rcvbuf(fd, addr, addrlen);
	errno = saved_errno;
	return real_bind(fd, addr, addrlen);
}
