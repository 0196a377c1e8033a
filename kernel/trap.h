/*
 * CPU exceptions and panic(): both print what is needed to find the bug —
 * vector, error code, RIP, CR2, the general registers, a short backtrace —
 * on the serial console, then end the run with a failure code (DESIGN.md,
 * Boot step 3). Addresses are also printed relative to the image base so
 * `addr2line -e build/pktmetal.so OFFSET` names the line.
 */
#ifndef PKTMETAL_KERNEL_TRAP_H
#define PKTMETAL_KERNEL_TRAP_H

#include <stdbool.h>
#include <stdint.h>

struct trap_frame {               /* layout fixed by isr.S */
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap frame matches isr.S");

void trap_init(uint64_t image_base, uint64_t image_bytes);
/* Names the 4 KiB guard page at `addr` so a fault there is reported as the
 * overflow of `stack_name`. */
void trap_add_guard(uint64_t addr, const char *stack_name);
/* mm installs this once its page tables are live; until then the backtrace
 * trusts only the stack bounds it was given. */
void trap_set_mapped_check(bool (*is_mapped)(uint64_t addr));

void trap_handler(struct trap_frame *f) __attribute__((noreturn));
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
