/*
 * Local APIC timer and IOAPIC masking (Intel SDM vol. 3A, chapter 11:
 * 11.4 local APIC registers, 11.5.4 APIC timer; 82093AA IOAPIC datasheet,
 * 3.2 registers).
 *
 * The timer runs one-shot on vector 32, NICs' MSI-X messages arrive on 33;
 * isr.S's irq_stub acknowledges either by writing the EOI register, whose
 * address is published in apic_eoi_reg. The
 * timer's rate is not architectural (it is the bus clock divided), so it is
 * measured against the TSC once at start.
 */
#include "kernel/apic.h"

#include "kernel/clock.h"
#include "kernel/cpu.h"
#include "kernel/io.h"
#include "kernel/mm.h"
#include "net/errno.h"

#define LAPIC_TPR       0x080
#define LAPIC_EOI       0x0b0
#define LAPIC_SVR       0x0f0
#define   SVR_ENABLE    (1u << 8)
#define LAPIC_LVT_TIMER 0x320
#define   LVT_MASKED    (1u << 16)       /* one-shot mode: bits 17-18 = 0 */
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR  0x390
#define LAPIC_TIMER_DIV  0x3e0
#define   DIV_BY_16     0x3

#define IOAPIC_REGSEL   0x00
#define IOAPIC_WIN      0x10
#define IOAPIC_VER      0x01
#define IOAPIC_REDTBL(n) (0x10 + 2 * (n))
#define   REDIR_MASKED  (1u << 16)

#define CALIBRATE_NS    5000000ull        /* 5 ms */

#define MSI_ADDR_BASE   0xfee00000ull     /* SDM 11.11.1: destination ID in bits 19:12 */
#define MSI_DEST_SHIFT  12                /* data bits 10:8 = 0: fixed; bit 15 = 0: edge */

volatile uint32_t *apic_eoi_reg;          /* read by isr.S */
static volatile uint8_t *lapic;
static uint64_t timer_hz;

static uint32_t lapic_read(uint32_t reg) { return mmio_read32(lapic + reg); }
static void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(lapic + reg, v); }

static uint32_t ioapic_read(volatile uint8_t *io, uint32_t reg)
{
    mmio_write32(io + IOAPIC_REGSEL, reg);
    return mmio_read32(io + IOAPIC_WIN);
}

static void ioapic_write(volatile uint8_t *io, uint32_t reg, uint32_t v)
{
    mmio_write32(io + IOAPIC_REGSEL, reg);
    mmio_write32(io + IOAPIC_WIN, v);
}

/* Every redirection entry masked: with the 8259s masked too (main.c), no
 * device can interrupt us; only the local APIC timer can. */
static void ioapic_mask_all(volatile uint8_t *io)
{
    uint32_t max_entry = (ioapic_read(io, IOAPIC_VER) >> 16) & 0xff;
    for (uint32_t n = 0; n <= max_entry; n++)
        ioapic_write(io, IOAPIC_REDTBL(n), ioapic_read(io, IOAPIC_REDTBL(n)) | REDIR_MASKED);
}

static void calibrate(void)
{
    lapic_write(LAPIC_TIMER_DIV, DIV_BY_16);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | APIC_TIMER_VECTOR);
    lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
    uint64_t t0 = clock_ns();
    clock_delay_ns(CALIBRATE_NS);
    uint32_t left = lapic_read(LAPIC_TIMER_CUR);
    uint64_t elapsed_ns = clock_ns() - t0;
    lapic_write(LAPIC_TIMER_INIT, 0);
    timer_hz = (uint64_t)(0xffffffffu - left) * 1000000000ull / elapsed_ns;
}

int apic_init(uint64_t lapic_base, uint64_t ioapic_base)
{
    if (mm_map_mmio(ioapic_base, 4096) < 0)
        return -PM_ENOMEM;
    ioapic_mask_all((volatile uint8_t *)(uintptr_t)ioapic_base);
    lapic = (volatile uint8_t *)(uintptr_t)lapic_base;
    apic_eoi_reg = (volatile uint32_t *)(lapic + LAPIC_EOI);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, SVR_ENABLE | APIC_SPURIOUS_VECTOR);
    calibrate();
    if (timer_hz == 0)
        return -PM_EIO;
    lapic_write(LAPIC_LVT_TIMER, APIC_TIMER_VECTOR);     /* one-shot, unmasked */
    return 0;
}

uint64_t apic_timer_hz(void)
{
    return timer_hz;
}

void apic_timer_oneshot_us(uint32_t us)
{
    uint64_t ticks = timer_hz * us / 1000000ull;
    lapic_write(LAPIC_TIMER_INIT, ticks ? (uint32_t)ticks : 1);
}

bool apic_timer_cancel(void)
{
    bool counting = lapic_read(LAPIC_TIMER_CUR) != 0;

    lapic_write(LAPIC_TIMER_INIT, 0);
    return counting;
}

void apic_msi_message(uint8_t vector, uint64_t *addr, uint32_t *data)
{
    uint32_t r[4];

    cpu_cpuid(1, 0, r);
    *addr = MSI_ADDR_BASE | (uint64_t)(r[1] >> 24) << MSI_DEST_SHIFT;
    *data = vector;
}
