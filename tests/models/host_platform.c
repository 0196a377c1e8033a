/*
 * Host implementations of the kernel services drivers use. See
 * host_platform.h.
 */
#include "tests/models/host_platform.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/dma.h"
#include "kernel/io.h"

#define MAX_DMA_BLOCKS 256
#define MAX_MMIO_REGIONS 16
#define LOG_BYTES (64 * 1024)

static struct { void *p; size_t bytes; } dma_blocks[MAX_DMA_BLOCKS];
static unsigned nb_dma_blocks;

void *dma_alloc(size_t bytes, size_t align)
{
    if (nb_dma_blocks == MAX_DMA_BLOCKS)
        return NULL;
    if (align < sizeof(void *))
        align = sizeof(void *);
    size_t rounded = (bytes + align - 1) / align * align;
    void *p = aligned_alloc(align, rounded ? rounded : align);
    if (p == NULL)
        return NULL;
    memset(p, 0, rounded);
    dma_blocks[nb_dma_blocks].p = p;
    dma_blocks[nb_dma_blocks].bytes = rounded;
    nb_dma_blocks++;
    return p;
}

bool host_dma_contains(uint64_t addr, uint64_t len)
{
    for (unsigned i = 0; i < nb_dma_blocks; i++) {
        uint64_t start = (uint64_t)(uintptr_t)dma_blocks[i].p;
        if (addr >= start && len <= dma_blocks[i].bytes && addr - start <= dma_blocks[i].bytes - len)
            return true;
    }
    return false;
}

void host_dma_free_all(void)
{
    for (unsigned i = 0; i < nb_dma_blocks; i++)
        free(dma_blocks[i].p);
    nb_dma_blocks = 0;
}

size_t host_dma_bytes_allocated(void)
{
    size_t total = 0;
    for (unsigned i = 0; i < nb_dma_blocks; i++)
        total += dma_blocks[i].bytes;
    return total;
}

/* ---- virtual clock ---- */

static uint64_t virtual_ns;

void host_clock_advance_ns(uint64_t ns)
{
    virtual_ns += ns;
}

uint64_t clock_ns(void)
{
    virtual_ns += 1000;
    return virtual_ns;
}

uint64_t clock_tsc_to_ns(uint64_t tsc_delta)
{
    return tsc_delta;        /* the host "TSC" runs at 1 GHz */
}

uint64_t clock_ns_to_tsc(uint64_t ns)
{
    return ns;
}

void clock_delay_ns(uint64_t ns)
{
    virtual_ns += ns;
}

/* ---- kprintf capture ---- */

static char log_buf[LOG_BYTES];
static size_t log_len;

static int log_vprintf(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(log_buf + log_len, LOG_BYTES - log_len, fmt, ap);
    if (n > 0)
        log_len += (size_t)n < LOG_BYTES - log_len ? (size_t)n : LOG_BYTES - log_len - 1;
    if (getenv("PKTMETAL_TEST_VERBOSE"))
        vfprintf(stderr, fmt, copy);
    va_end(copy);
    return n;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = log_vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int ctl_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = log_vprintf(fmt, ap);
    va_end(ap);
    return n;
}

const char *host_log(void)
{
    return log_buf;
}

void host_log_clear(void)
{
    log_len = 0;
    log_buf[0] = '\0';
}

/* ---- MMIO bus ---- */

static struct {
    uint8_t *base;
    uint64_t len;
    const struct mmio_region_ops *ops;
    void *ctx;
} regions[MAX_MMIO_REGIONS];

int host_mmio_register(void *base, uint64_t len, const struct mmio_region_ops *ops, void *ctx)
{
    for (unsigned i = 0; i < MAX_MMIO_REGIONS; i++) {
        if (regions[i].base == NULL) {
            regions[i].base = base;
            regions[i].len = len;
            regions[i].ops = ops;
            regions[i].ctx = ctx;
            return 0;
        }
    }
    return -1;
}

void host_mmio_unregister(void *base)
{
    for (unsigned i = 0; i < MAX_MMIO_REGIONS; i++)
        if (regions[i].base == base)
            regions[i].base = NULL;
}

void host_mmio_unregister_all(void)
{
    memset(regions, 0, sizeof(regions));
}

static int find_region(const volatile void *addr, uint64_t *offset)
{
    const uint8_t *a = (const uint8_t *)(uintptr_t)addr;
    for (int i = 0; i < MAX_MMIO_REGIONS; i++) {
        if (regions[i].base != NULL && a >= regions[i].base &&
            a < regions[i].base + regions[i].len) {
            *offset = (uint64_t)(a - regions[i].base);
            return i;
        }
    }
    return -1;
}

uint64_t host_mmio_read(const volatile void *addr, unsigned width)
{
    uint64_t off;
    int r = find_region(addr, &off);
    if (r >= 0)
        return regions[r].ops->read(regions[r].ctx, off, width);
    switch (width) {
    case 1: return *(const volatile uint8_t *)addr;
    case 2: return *(const volatile uint16_t *)addr;
    case 4: return *(const volatile uint32_t *)addr;
    default: return *(const volatile uint64_t *)addr;
    }
}

void host_mmio_write(volatile void *addr, unsigned width, uint64_t val)
{
    uint64_t off;
    int r = find_region(addr, &off);
    if (r >= 0) {
        regions[r].ops->write(regions[r].ctx, off, width, val);
        return;
    }
    switch (width) {
    case 1: *(volatile uint8_t *)addr = (uint8_t)val; break;
    case 2: *(volatile uint16_t *)addr = (uint16_t)val; break;
    case 4: *(volatile uint32_t *)addr = (uint32_t)val; break;
    default: *(volatile uint64_t *)addr = val; break;
    }
}
