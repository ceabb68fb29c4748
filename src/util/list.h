/* libaq - intrusive circular doubly linked list. MIT licensed.
 *
 * A node that is not on any list points at itself, so removing it again is
 * harmless: a waiter can be unlinked by whoever reaches it first (a waker,
 * a timeout or a cancellation) without asking where it is.
 */
#ifndef AQ_LIST_H
#define AQ_LIST_H

#include <stddef.h>

typedef struct aq_list {
    struct aq_list *next, *prev;
} aq_list;

#define aq__list_entry(node, type, field) \
    ((type *)(void *)((char *)(node) - offsetof(type, field)))

static inline void aq__list_init(aq_list *l) { l->next = l->prev = l; }

static inline int aq__list_empty(const aq_list *l) { return l->next == l; }

static inline void aq__list_push_back(aq_list *l, aq_list *n)
{
    n->prev = l->prev;
    n->next = l;
    l->prev->next = n;
    l->prev = n;
}

/* Unlinks n and leaves it pointing at itself. */
static inline void aq__list_remove(aq_list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

/* Unlinks and returns the first node; l must not be empty. */
static inline aq_list *aq__list_pop_front(aq_list *l)
{
    aq_list *n = l->next;
    aq__list_remove(n);
    return n;
}

/* The number of nodes on l: O(n), for introspection only. */
static inline size_t aq__list_len(const aq_list *l)
{
    size_t n = 0;
    for (const aq_list *i = l->next; i != l; i = i->next)
        n++;
    return n;
}

#endif
