/*
 * GDT, TSS and IDT (Intel SDM vol. 3A, chapters 3.4.5, 7.7 and 6.14).
 *
 *   GDT slot  selector  what
 *   0         0x00      null
 *   1         0x08      64-bit code, DPL 0
 *   2         0x10      data, DPL 0
 *   3-4       0x18      64-bit TSS (a 16-byte system descriptor)
 *
 * The IDT points every exception vector 0..31 at a stub in isr.S; stubs are
 * 16 bytes apart so their addresses are computed, not relocated. Vectors
 * 32..255 all share one stub that acknowledges the local APIC and returns:
 * interrupts are enabled only inside the idle halt (kernel/idle.c), where
 * the APIC timer (vector 32) and a NIC's MSI-X wake-up (33, kernel/apic.h)
 * have one job, ending the hlt; any stray vector is harmless.
 */
#include "kernel/cpu.h"

#include <stdbool.h>

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS  0x18

#define IDT_EXCEPTIONS   32
#define IDT_VECTORS      256
#define ISR_STUB_STRIDE  16
#define IDT_GATE_INTR    0x8e   /* present, DPL 0, 64-bit interrupt gate */

struct tss64 {                  /* SDM vol. 3A, figure 7-11 */
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss64) == 104, "TSS is 104 bytes");

struct idt_gate {               /* SDM vol. 3A, figure 6-8 */
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate is 16 bytes");

struct table_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

static uint64_t gdt[5] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));

extern char isr_stubs[];    /* isr.S */
extern char irq_stub[];     /* isr.S: EOI and return */
void cpu_load_tables(const struct table_ptr *gdtr, const struct table_ptr *idtr,
                     uint16_t code_sel, uint16_t data_sel, uint16_t tss_sel);

static void gdt_build(void)
{
    gdt[0] = 0;
    gdt[1] = 0x00af9a000000ffffull;   /* code: P, DPL0, S, exec/read, L=1, G */
    gdt[2] = 0x00cf92000000ffffull;   /* data: P, DPL0, S, read/write, G */
    uint64_t base = (uint64_t)(uintptr_t)&tss;
    uint64_t limit = sizeof(tss) - 1;
    gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
             (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[4] = base >> 32;
}

static uint8_t vector_ist(unsigned vec)
{
    switch (vec) {
    case 2:  return CPU_IST_NMI_MC;        /* NMI */
    case 8:  return CPU_IST_DOUBLE_FAULT;  /* #DF */
    case 14: return CPU_IST_PAGE_FAULT;    /* #PF: a stack overflow is one */
    case 18: return CPU_IST_NMI_MC;        /* #MC */
    default: return 0;
    }
}

static void idt_build(void)
{
    for (unsigned v = 0; v < IDT_VECTORS; v++) {
        uint64_t addr = v < IDT_EXCEPTIONS ? (uint64_t)(uintptr_t)(isr_stubs + v * ISR_STUB_STRIDE)
                                           : (uint64_t)(uintptr_t)irq_stub;
        idt[v] = (struct idt_gate){
            .offset_lo = addr & 0xffff,
            .selector = SEL_CODE,
            .ist = vector_ist(v),
            .type_attr = IDT_GATE_INTR,
            .offset_mid = (addr >> 16) & 0xffff,
            .offset_hi = addr >> 32,
        };
    }
}

void cpu_init(const uint64_t ist_tops[3])
{
    for (int i = 0; i < 3; i++)
        tss.ist[i] = ist_tops[i];
    tss.iomap_base = sizeof(tss);          /* no I/O permission bitmap */
    gdt_build();
    idt_build();
    struct table_ptr gdtr = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
    struct table_ptr idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
    cpu_load_tables(&gdtr, &idtr, SEL_CODE, SEL_DATA, SEL_TSS);
}

/* Deterministic cache parameters, CPUID leaf 4 (SDM vol. 2A, CPUID): the
 * highest-level data/unified cache is the LLC. */
static bool cache_from_leaf4(struct cpu_cache_info *out)
{
    uint32_t r[4];
    cpu_cpuid(0, 0, r);
    if (r[0] < 4)
        return false;
    for (uint32_t sub = 0; sub < 16; sub++) {
        cpu_cpuid(4, sub, r);
        uint32_t type = r[0] & 0x1f;
        if (type == 0)
            break;
        if (type == 2)                       /* instruction cache */
            continue;
        uint8_t level = (r[0] >> 5) & 0x7;
        uint32_t ways = (r[1] >> 22) + 1, parts = ((r[1] >> 12) & 0x3ff) + 1;
        uint32_t line = (r[1] & 0xfff) + 1, sets = r[2] + 1;
        if (level >= out->llc_level) {
            out->llc_level = level;
            out->llc_bytes = ways * parts * line * sets;
            out->line_bytes = line;
        }
    }
    out->source = "cpuid.4";
    return out->llc_bytes != 0;
}

/* Extended leaf 0x80000006: L2 in ECX (KiB in 31:16, line in 7:0), L3 in
 * EDX (512 KiB units in 31:18). -cpu qemu64 answers only here (TRAPS.md). */
static void cache_from_ext_leaf(struct cpu_cache_info *out)
{
    uint32_t r[4];
    cpu_cpuid(0x80000000, 0, r);
    out->source = "cpuid.80000006";
    if (r[0] < 0x80000006)
        return;
    cpu_cpuid(0x80000006, 0, r);
    out->line_bytes = r[2] & 0xff;
    out->llc_bytes = (r[2] >> 16) * 1024;
    out->llc_level = 2;
    if ((r[3] >> 18) != 0) {
        out->llc_bytes = (r[3] >> 18) * 512 * 1024;
        out->llc_level = 3;
    }
}

void cpu_cache_info(struct cpu_cache_info *out)
{
    *out = (struct cpu_cache_info){ 0 };
    if (!cache_from_leaf4(out)) {
        *out = (struct cpu_cache_info){ 0 };
        cache_from_ext_leaf(out);
    }
}
