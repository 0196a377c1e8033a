/*
 * Console: printf on the serial lines and a line-oriented command reader.
 *
 * Input is polled from the main loop; a line is run when CR or LF arrives.
 * Backspace/DEL edit the line, and the human console echoes what is typed
 * (the control channel does not: tools don't want their words back).
 */
#include "kernel/console.h"

#include <stdarg.h>
#include <stddef.h>

#include "net/fmt.h"

/* Long enough for a capture command carrying a 512-instruction filter. */
#define LINE_MAX_BYTES 8448

struct line_reader {
    struct serial_port *port;
    bool echo;
    char buf[LINE_MAX_BYTES];
    unsigned len;
};

static struct serial_port com1, com2;
static struct line_reader com1_reader = { .port = &com1, .echo = true };
static struct line_reader com2_reader = { .port = &com2, .echo = false };
static const struct console_cmd *console_cmds;
/* The port whose command is running; its replies go back the same way. */
static struct serial_port *reply_port = &com1;

static void put_serial(void *ctx, const char *s, size_t n)
{
    serial_write((const struct serial_port *)ctx, s, n);
}

void console_init(void)
{
    serial_init(&com1, SERIAL_COM1);
    serial_init(&com2, SERIAL_COM2);
}

bool console_has_control_channel(void)
{
    return com2.present;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vformat(put_serial, reply_port, fmt, ap);
    va_end(ap);
    return n;
}

int ctl_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vformat(put_serial, com2.present ? &com2 : &com1, fmt, ap);
    va_end(ap);
    return n;
}

void console_set_commands(const struct console_cmd *cmds)
{
    console_cmds = cmds;
}

static bool word_equal(const char *line, unsigned word_len, const char *name)
{
    unsigned i = 0;
    for (; i < word_len && name[i] != '\0'; i++)
        if (line[i] != name[i])
            return false;
    return i == word_len && name[i] == '\0';
}

static void print_help(void)
{
    kprintf("commands:\n  %-10s %s\n", "help", "this list");
    for (const struct console_cmd *c = console_cmds; c && c->name; c++)
        kprintf("  %-10s %s\n", c->name, c->help);
}

static void run_line(char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    unsigned word_len = 0;
    while (line[word_len] != '\0' && line[word_len] != ' ' && line[word_len] != '\t')
        word_len++;
    if (word_len == 0)
        return;
    const char *args = line + word_len;
    while (*args == ' ' || *args == '\t')
        args++;
    if (word_equal(line, word_len, "help")) {
        print_help();
        return;
    }
    for (const struct console_cmd *c = console_cmds; c && c->name; c++) {
        if (word_equal(line, word_len, c->name)) {
            c->run(args);
            return;
        }
    }
    kprintf("unknown command '%.*s' (try 'help')\n", (int)word_len, line);
}

static void reader_feed(struct line_reader *r, char c)
{
    if (c == '\r' || c == '\n') {
        if (r->echo)
            serial_write(r->port, "\n", 1);
        r->buf[r->len] = '\0';
        r->len = 0;
        reply_port = r->port;
        run_line(r->buf);
        reply_port = &com1;
        if (r->echo)
            serial_write(r->port, "> ", 2);
    } else if (c == '\b' || c == 0x7f) {
        if (r->len > 0) {
            r->len--;
            if (r->echo)
                serial_write(r->port, "\b \b", 3);
        }
    } else if (c >= ' ' && c < 0x7f && r->len < LINE_MAX_BYTES - 1) {
        r->buf[r->len++] = c;
        if (r->echo)
            serial_write(r->port, &c, 1);
    }
}

static void reader_poll(struct line_reader *r)
{
    for (int budget = 64; budget > 0; budget--) {
        int b = serial_poll_byte(r->port);
        if (b < 0)
            return;
        reader_feed(r, (char)b);
    }
}

void console_poll(void)
{
    reader_poll(&com1_reader);
    reader_poll(&com2_reader);
}
