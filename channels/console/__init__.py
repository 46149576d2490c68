"""The helpdesk console under /console: sign-in, queue, transcript, reply, hand back, lookup, failures."""
