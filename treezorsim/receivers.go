package treezorsim

import "strings"

// receivers are the webhook URLs of a simulator: one, or several that take turns. The first
// attempts of successive webhooks go to each URL in turn, and each retry of a webhook goes to
// the URL after the one its last attempt went to, so that a receiver that is down costs a
// webhook one attempt: several bridges serving Treezor without a load balancer in front.
// The simulator's mutex guards it.
type receivers struct {
	urls []string
	next int // turn of the next webhook's first attempt
}

// parseReceivers reads a webhook URL setting: one URL, or several separated by commas
// (blanks around them are ignored, empty entries dropped).
func parseReceivers(setting string) receivers {
	var urls []string
	for _, u := range strings.Split(setting, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	return receivers{urls: urls}
}

// start returns the turn of a webhook's first attempt; its retries take the turns after it.
func (r *receivers) start() int {
	turn := r.next
	r.next = (r.next + 1) % max(len(r.urls), 1)
	return turn
}

// at returns the URL whose turn it is, or "" when none is configured.
func (r *receivers) at(turn int) string {
	if len(r.urls) == 0 {
		return ""
	}
	return r.urls[turn%len(r.urls)]
}
