// The consumer's own net/ header: same directory name as ringnet's, no collision.
#ifndef CONSUMER_NET_GREETING_H_
#define CONSUMER_NET_GREETING_H_

inline const char* Greeting() { return "consumer workspace"; }

#endif  // CONSUMER_NET_GREETING_H_
