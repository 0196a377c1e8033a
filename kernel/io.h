/*
 * Port and memory-mapped I/O accessors: the only way kernel/ and drivers/
 * touch hardware (DESIGN.md, Layers).
 *
 * The width is in the name. MMIO pointers are volatile, so the compiler
 * neither merges nor reorders the access with other volatile accesses; the
 * "memory" clobber in the barrier keeps ordinary loads and stores (descriptor
 * writes in DMA memory) from moving across a doorbell. On x86 stores are not
 * reordered with other stores and uncached MMIO is strongly ordered, so a
 * compiler barrier is the barrier these accesses need; DMA rings that the
 * device reads use dma_wmb()/dma_rmb() in the drivers.
 */
#ifndef PKTMETAL_KERNEL_IO_H
#define PKTMETAL_KERNEL_IO_H

#include <stdint.h>

#define io_compiler_barrier() __asm__ __volatile__("" ::: "memory")

#ifdef PKTMETAL_HOST
/*
 * Host unit tests: every MMIO access goes through the bus in
 * tests/models/mmio_bus.c, which hands it to the software model of the device
 * that owns the address (so a register write can make the model act, as a
 * doorbell does), or to plain memory when no model claims it.
 */
uint64_t host_mmio_read(const volatile void *addr, unsigned width_bytes);
void host_mmio_write(volatile void *addr, unsigned width_bytes, uint64_t val);

static inline uint8_t mmio_read8(const volatile void *a) { return (uint8_t)host_mmio_read(a, 1); }
static inline uint16_t mmio_read16(const volatile void *a) { return (uint16_t)host_mmio_read(a, 2); }
static inline uint32_t mmio_read32(const volatile void *a) { return (uint32_t)host_mmio_read(a, 4); }
static inline uint64_t mmio_read64(const volatile void *a) { return host_mmio_read(a, 8); }
static inline void mmio_write8(volatile void *a, uint8_t v) { host_mmio_write(a, 1, v); }
static inline void mmio_write16(volatile void *a, uint16_t v) { host_mmio_write(a, 2, v); }
static inline void mmio_write32(volatile void *a, uint32_t v) { host_mmio_write(a, 4, v); }
static inline void mmio_write64(volatile void *a, uint64_t v) { host_mmio_write(a, 8, v); }
#else
static inline uint8_t mmio_read8(const volatile void *addr)
{
    io_compiler_barrier();
    return *(const volatile uint8_t *)addr;
}
static inline uint16_t mmio_read16(const volatile void *addr)
{
    io_compiler_barrier();
    return *(const volatile uint16_t *)addr;
}
static inline uint32_t mmio_read32(const volatile void *addr)
{
    io_compiler_barrier();
    return *(const volatile uint32_t *)addr;
}
static inline uint64_t mmio_read64(const volatile void *addr)
{
    io_compiler_barrier();
    return *(const volatile uint64_t *)addr;
}
static inline void mmio_write8(volatile void *addr, uint8_t v)
{
    io_compiler_barrier();
    *(volatile uint8_t *)addr = v;
}
static inline void mmio_write16(volatile void *addr, uint16_t v)
{
    io_compiler_barrier();
    *(volatile uint16_t *)addr = v;
}
static inline void mmio_write32(volatile void *addr, uint32_t v)
{
    io_compiler_barrier();
    *(volatile uint32_t *)addr = v;
}
static inline void mmio_write64(volatile void *addr, uint64_t v)
{
    io_compiler_barrier();
    *(volatile uint64_t *)addr = v;
}

#endif /* PKTMETAL_HOST */

static inline uint8_t pio_read8(uint16_t port)
{
    uint8_t v;
    __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}
static inline uint16_t pio_read16(uint16_t port)
{
    uint16_t v;
    __asm__ __volatile__("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}
static inline uint32_t pio_read32(uint16_t port)
{
    uint32_t v;
    __asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}
static inline void pio_write8(uint16_t port, uint8_t v)
{
    __asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline void pio_write16(uint16_t port, uint16_t v)
{
    __asm__ __volatile__("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline void pio_write32(uint16_t port, uint32_t v)
{
    __asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

#endif
