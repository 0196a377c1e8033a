/*
 * control: the image's control channel, COM2, which QEMU serves on a unix
 * stream socket (-chardev socket,server=on). One command per line; the
 * image's answer is the first line starting with "capture: ". Everything
 * else on the line (one "STATS {json}" per interval, replies to other tools'
 * commands) is read and thrown away.
 *
 * Reading matters even when nothing is expected: QEMU stops taking bytes
 * from the UART when the socket's buffer is full, and the image would then
 * wait on its transmitter. So the main loop pumps this socket all the time.
 *
 * QEMU serves one client at a time: a second connection is accepted by the
 * kernel but never read, which shows up here as "no reply within 5 s".
 *
 * A serial line is slow: an image that reads its UART every few ms takes a
 * while over a start command of several hundred bytes (16 hex digits per
 * BPF instruction). A reply can therefore come after we gave up; main.c
 * recognises such a stale "ok started" by its insns= and skips it.
 */
#include "pktcap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CONTROL_BUF_BYTES 65536      /* a STATS line for many ports is long */
#define REPLY_PREFIX "capture: "

struct control {
	int fd;
	size_t len;                      /* bytes of an unfinished line in buf */
	bool discarding;                 /* inside a line longer than buf */
	char buf[CONTROL_BUF_BYTES];
};

struct control *control_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct control *ctl;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "pktcap: --control %s: path too long for a unix socket\n", path);
		return NULL;
	}
	strcpy(addr.sun_path, path);
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return NULL;
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ctl->fd < 0)
		goto err_free;
	if (connect(ctl->fd, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "pktcap: control socket %s: %s (is the image running?)\n",
			path, strerror(errno));
		goto err_close;
	}
	/* Non-blocking reads; writes are small and made blocking-safe in control_send. */
	fcntl(ctl->fd, F_SETFL, O_NONBLOCK);
	return ctl;

err_close:
	close(ctl->fd);
err_free:
	free(ctl);
	return NULL;
}

int control_fd(const struct control *ctl)
{
	return ctl->fd;
}

/* Sends LINE and a newline. A start command is a few hundred bytes. */
int control_send(struct control *ctl, const char *line)
{
	size_t len = strlen(line);
	char *msg = malloc(len + 1);
	size_t done = 0;

	if (!msg)
		return -1;
	memcpy(msg, line, len);
	msg[len++] = '\n';
	while (done < len) {
		ssize_t n = send(ctl->fd, msg + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			usleep(1000);      /* the UART drains at its own pace */
			continue;
		}
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "pktcap: control socket: %s\n", strerror(errno));
			break;
		}
		if (n > 0)
			done += (size_t)n;
	}
	free(msg);
	return done == len ? 0 : -1;
}

/* One complete line (NUL-terminated, no newline): is it our reply? */
static int take_line(char *line, char *reply, size_t reply_bytes)
{
	size_t len = strlen(line);

	if (len && line[len - 1] == '\r')
		line[len - 1] = '\0';
	if (strncmp(line, REPLY_PREFIX, strlen(REPLY_PREFIX)))
		return 0;
	snprintf(reply, reply_bytes, "%s", line);
	return 1;
}

/*
 * Splits the buffered bytes into lines and stops at the first reply; the
 * rest stays buffered for the next call.
 */
static int scan_lines(struct control *ctl, char *reply, size_t reply_bytes)
{
	char *nl;

	while ((nl = memchr(ctl->buf, '\n', ctl->len))) {
		size_t line_len = (size_t)(nl - ctl->buf);
		int found = 0;

		*nl = '\0';
		if (!ctl->discarding)
			found = take_line(ctl->buf, reply, reply_bytes);
		ctl->discarding = false;
		memmove(ctl->buf, nl + 1, ctl->len - line_len - 1);
		ctl->len -= line_len + 1;
		if (found)
			return 1;
	}
	if (ctl->len == sizeof(ctl->buf)) {
		ctl->discarding = true;      /* no reply is this long: drop the line */
		ctl->len = 0;
	}
	return 0;
}

int control_pump(struct control *ctl, char *reply, size_t reply_bytes)
{
	for (;;) {
		ssize_t n;

		if (scan_lines(ctl, reply, reply_bytes))
			return 1;
		n = recv(ctl->fd, ctl->buf + ctl->len, sizeof(ctl->buf) - ctl->len, 0);
		if (n > 0) {
			ctl->len += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return -1;                   /* EOF: QEMU went away */
	}
}

void control_close(struct control *ctl)
{
	if (!ctl)
		return;
	close(ctl->fd);
	free(ctl);
}
