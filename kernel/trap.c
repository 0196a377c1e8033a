/*
 * Exception dump and panic.
 *
 * Nothing here may fault again: the backtrace checks each frame pointer
 * before it dereferences it, and a fault raised while dumping (nested) skips
 * straight to the exit so the machine still stops with a failure code.
 */
#include "kernel/trap.h"

#include <stdarg.h>
#include <stddef.h>

#include "kernel/console.h"
#include "kernel/exit.h"
#include "net/fmt.h"

#define BACKTRACE_MAX_FRAMES 16
#define MAX_GUARDS 8
#define PAGE_4K 4096ull

static const char *const vector_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM device not available",
    "#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
    "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
    "#MC machine check", "#XM SIMD exception", "#VE virtualization",
    "#CP control protection", "reserved 22", "reserved 23", "reserved 24",
    "reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
    "#VC VMM communication", "#SX security", "reserved 31",
};

static uint64_t image_base, image_bytes;
static struct { uint64_t addr; const char *name; } guards[MAX_GUARDS];
static unsigned nb_guards;
static bool (*addr_is_mapped)(uint64_t addr);
static volatile int dumping;

void trap_init(uint64_t base, uint64_t bytes)
{
    image_base = base;
    image_bytes = bytes;
}

void trap_add_guard(uint64_t addr, const char *stack_name)
{
    if (nb_guards < MAX_GUARDS)
        guards[nb_guards++] = (typeof(guards[0])){ addr, stack_name };
}

void trap_set_mapped_check(bool (*is_mapped)(uint64_t addr))
{
    addr_is_mapped = is_mapped;
}

static uint64_t read_cr2(void)
{
    uint64_t v;
    __asm__ __volatile__("mov %%cr2, %0" : "=r"(v));
    return v;
}

static void print_addr(const char *label, uint64_t addr)
{
    if (addr >= image_base && addr < image_base + image_bytes)
        kprintf("%s%016llx (pktmetal.so+0x%llx)\n", label, (unsigned long long)addr,
                (unsigned long long)(addr - image_base));
    else
        kprintf("%s%016llx\n", label, (unsigned long long)addr);
}

static bool frame_readable(uint64_t rbp)
{
    if (rbp == 0 || (rbp & 7) != 0 || rbp > 0x00007fffffffffffull)
        return false;
    if (addr_is_mapped == NULL)
        return false;
    return addr_is_mapped(rbp) && addr_is_mapped(rbp + 8);
}

/* Frame 0 is where it happened; the rest are return addresses found by
 * following saved RBPs (the image keeps frame pointers). */
static void backtrace_from(uint64_t pc, uint64_t rbp)
{
    kprintf("backtrace:\n");
    print_addr("  #0  ", pc);
    for (int i = 1; i < BACKTRACE_MAX_FRAMES && frame_readable(rbp); i++) {
        const uint64_t *frame = (const uint64_t *)(uintptr_t)rbp;
        if (frame[1] == 0)
            break;
        kprintf("  #%-2d ", i);
        print_addr("", frame[1]);
        if (frame[0] <= rbp)             /* stacks grow down: callers are above */
            break;
        rbp = frame[0];
    }
}

static void print_registers(const struct trap_frame *f)
{
    kprintf("rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n",
            (unsigned long long)f->rax, (unsigned long long)f->rbx,
            (unsigned long long)f->rcx, (unsigned long long)f->rdx);
    kprintf("rsi=%016llx rdi=%016llx rbp=%016llx rsp=%016llx\n",
            (unsigned long long)f->rsi, (unsigned long long)f->rdi,
            (unsigned long long)f->rbp, (unsigned long long)f->rsp);
    kprintf("r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n",
            (unsigned long long)f->r8, (unsigned long long)f->r9,
            (unsigned long long)f->r10, (unsigned long long)f->r11);
    kprintf("r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n",
            (unsigned long long)f->r12, (unsigned long long)f->r13,
            (unsigned long long)f->r14, (unsigned long long)f->r15);
    kprintf("rflags=%016llx cs=%04llx ss=%04llx\n", (unsigned long long)f->rflags,
            (unsigned long long)f->cs, (unsigned long long)f->ss);
}

static void explain_page_fault(uint64_t cr2, uint64_t error_code)
{
    for (unsigned i = 0; i < nb_guards; i++) {
        if (cr2 >= guards[i].addr && cr2 < guards[i].addr + PAGE_4K) {
            kprintf("cause: stack overflow: %s stack ran into its guard page\n",
                    guards[i].name);
            return;
        }
    }
    kprintf("cause: %s of a %s page\n", (error_code & 2) ? "write" : "read",
            (error_code & 1) ? "protected" : "not-present");
}

void trap_handler(struct trap_frame *f)
{
    if (dumping++) {
        kprintf("\nnested exception %llu while reporting one; stopping\n",
                (unsigned long long)f->vector);
        machine_fail(EXIT_EXCEPTION);
    }
    uint64_t cr2 = read_cr2();
    kprintf("\n*** EXCEPTION %llu: %s\n", (unsigned long long)f->vector,
            vector_names[f->vector & 31]);
    kprintf("error code=0x%llx\n", (unsigned long long)f->error_code);
    print_addr("rip=", f->rip);
    kprintf("cr2=%016llx\n", (unsigned long long)cr2);
    if (f->vector == 14)
        explain_page_fault(cr2, f->error_code);
    print_registers(f);
    backtrace_from(f->rip, f->rbp);
    kprintf("image base %016llx; stopping (exit code %d)\n",
            (unsigned long long)image_base, EXIT_EXCEPTION);
    machine_fail(EXIT_EXCEPTION);
}

void panic(const char *fmt, ...)
{
    va_list ap;
    char msg[160];
    dumping++;
    va_start(ap, fmt);
    fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    kprintf("\n*** PANIC: %s\n", msg);
    backtrace_from((uint64_t)(uintptr_t)__builtin_return_address(0),
                   *(const uint64_t *)__builtin_frame_address(0));
    kprintf("image base %016llx; stopping (exit code %d)\n",
            (unsigned long long)image_base, EXIT_PANIC);
    machine_fail(EXIT_PANIC);
}
