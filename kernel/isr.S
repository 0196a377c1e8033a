/*
 * Exception entry stubs and the small pieces of the CPU setup that C cannot
 * express (segment reloads, stack switch).
 *
 * Every stub is 16 bytes apart (cpu.c computes gate addresses from that) and
 * leaves the same frame for trap_handler(struct trap_frame *):
 *
 *   high  ss, rsp, rflags, cs, rip     pushed by the CPU
 *         error code                   by the CPU, or 0 by the stub
 *         vector                       by the stub
 *   low   r15 ... rax (15 registers)   by isr_common
 *
 * The CPU aligns RSP to 16 before pushing its frame in 64-bit mode, and the
 * 22 quadwords above keep it aligned for the call.
 */
    .text
    .code64

/* Vectors that push an error code: 8, 10-14, 17, 21, 29, 30. */
.macro ISR_STUB vec
    .balign 16
    .if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    pushq $\vec
    .else
    pushq $0
    pushq $\vec
    .endif
    jmp isr_common
.endm

    .balign 16
    .globl isr_stubs
isr_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ISR_STUB \v
    .endr

isr_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    cld
    call trap_handler       /* never returns: exceptions end the run */
1:  cli
    hlt
    jmp 1b

/* Every vector from 32 up: write the local APIC's EOI register (its address
 * is in apic_eoi_reg, set by kernel/apic.c) and return. Interrupts are only
 * ever enabled around the idle hlt, so this runs on the kernel stack with
 * nothing else in flight; the timer's and a NIC's MSI-X wake-up's whole
 * purpose is to end the hlt. */
    .globl irq_stub
irq_stub:
    pushq %rax
    movq apic_eoi_reg(%rip), %rax
    testq %rax, %rax
    jz 1f
    movl $0, (%rax)
1:  popq %rax
    iretq

/* void cpu_load_tables(gdtr, idtr, code_sel, data_sel, tss_sel) */
    .globl cpu_load_tables
cpu_load_tables:
    lgdt (%rdi)
    lidt (%rsi)
    movw %cx, %ds
    movw %cx, %es
    movw %cx, %ss
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs
    ltr %r8w
    /* Reload CS with a far return: push selector and target, then lretq. */
    popq %rax
    pushq %rdx
    pushq %rax
    lretq

/* void cpu_run_on_stack(uint64_t top, void (*fn)(void *), void *arg) */
    .globl cpu_run_on_stack
cpu_run_on_stack:
    movq %rdi, %rsp
    xorl %ebp, %ebp         /* ends the backtrace here */
    movq %rdx, %rdi
    pushq $0                /* a zero return address, for the same reason */
    jmp *%rsi

    .section .note.GNU-stack,"",@progbits
