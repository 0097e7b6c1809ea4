package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/outbound"
)

// KindEvent is the timeline kind of an outbound event that could not be delivered.
const KindEvent = "event"

// MaxPendingEvents bounds the queue of undelivered events; beyond it the oldest is dropped
// (and counted), so a receiver gone for months cannot grow the carried state without bound.
const MaxPendingEvents = 200

// Config is what the workflow needs of its worker's configuration. A run reads it once,
// through a recorded side effect, so a replay on a differently configured worker agrees.
type Config struct {
	// Events is set when the worker has at least one event endpoint.
	Events bool
	// ComplianceEvents is set when one of them is a compliance endpoint: the run then
	// also queues the internal changes the user-safe view does not show.
	ComplianceEvents bool `json:"complianceEvents,omitempty"`
}

// EventDrainWait bounds how long an ended onboarding waits for its pending events before
// it hands them to a QESEventDelivery workflow (changeDrainEventsAtEnd).
const EventDrainWait = 5 * time.Second

// OutboundState is the delivery state of the onboarding's outbound events, carried by
// continue-as-new with the rest of the Snapshot.
type OutboundState struct {
	// Off is set when the onboarding's first run found no event endpoint on its worker:
	// nothing is queued and no delivery is scheduled, in this run and the ones it continues as.
	Off bool `json:"off,omitempty"`
	// Seq is the sequence number of the last event queued (events are numbered from 1).
	Seq int `json:"seq"`
	// Pending are the events not delivered yet, oldest first; the first is in flight.
	Pending []outbound.Message `json:"pending,omitempty"`
	// LastKey is what the last queued event said (type, status, action, attempt,
	// identification): an event is queued only when it changes.
	LastKey string `json:"lastKey,omitempty"`
	// Started is set once onboarding.started was queued.
	Started bool `json:"started,omitempty"`
	// Delivered counts the events every live endpoint accepted (not counted without a live
	// endpoint); LastDelivered is the last.
	Delivered     int    `json:"delivered,omitempty"`
	LastDelivered string `json:"lastDelivered,omitempty"`
	// Undelivered counts events dropped after the whole retry window (or a full queue).
	Undelivered int `json:"undelivered,omitempty"`
	// Gone are the endpoints that answered 410 Gone: they get no further event.
	Gone []string `json:"gone,omitempty"`
	// HandedOff counts the events the ended run left to its QESEventDelivery workflow.
	HandedOff int `json:"handedOff,omitempty"`
	// Internal is set when the onboarding queues the internal view as well (a compliance
	// endpoint is configured; changeComplianceEvents): InternalSeq numbers its events and
	// InternalKey is what the last one said.
	Internal    bool   `json:"internal,omitempty"`
	InternalSeq int    `json:"internalSeq,omitempty"`
	InternalKey string `json:"internalKey,omitempty"`
}

// EventDelivery is the delivery state shown in the status view.
type EventDelivery struct {
	// Queued counts the events queued so far; Delivered those delivered.
	Queued    int `json:"queued"`
	Delivered int `json:"delivered"`
	Pending   int `json:"pending"`
	// LastDelivered is "<sequence> <type>" of the last delivered event.
	LastDelivered string `json:"lastDelivered,omitempty"`
	Undelivered   int    `json:"undelivered,omitempty"`
	// Gone are the endpoints that answered 410 Gone and get no further event.
	Gone []string `json:"gone,omitempty"`
	// HandedOff counts the events the ended run left to its QESEventDelivery workflow
	// (its id is EventDeliveryID of the run).
	HandedOff int `json:"handedOff,omitempty"`
}

// outboundOn reports whether this run delivers outbound events (see changeOutboundEvents).
func (o *onboarding) outboundOn() bool { return o.st.Outbound != nil && !o.st.Outbound.Off }

// startOutbound decides whether the run delivers events, and starts the coroutine that
// delivers the queue in order. The onboarding never waits for it. The worker's
// configuration is read once per onboarding, by a side effect in its first run (one marker
// event); the runs it continues as carry the decision in the Snapshot.
func (o *onboarding) startOutbound(ctx workflow.Context) {
	if !o.release { // changeOutboundEvents
		return
	}
	if o.st.Outbound == nil {
		cfg := o.cfg
		var read Config
		var err error
		if o.followUp { // changeComplianceEvents: the whole configuration, in the one side effect
			err = workflow.SideEffect(ctx, func(workflow.Context) any { return cfg }).Get(&read)
		} else {
			err = workflow.SideEffect(ctx, func(workflow.Context) any { return cfg.Events }).Get(&read.Events)
		}
		if err != nil {
			// Unreachable: a run that cannot tell sends no events.
			o.logger.Error("Reading the event configuration failed; no events are sent", "error", err)
		}
		o.st.Outbound = &OutboundState{Off: !read.Events, Internal: read.Events && read.ComplianceEvents}
	}
	if o.st.Outbound.Off {
		return
	}
	workflow.Go(ctx, o.deliverEvents)
}

// emitEvent queues the event the user-safe view calls for, if it changed since the last
// one. It is called where the workflow task settles and the state is published (not while
// the workflow only waits for its own Treezor call), so one task queues at most one event.
func (o *onboarding) emitEvent() {
	if !o.outboundOn() {
		return
	}
	ob := o.st.Outbound
	ev, key, ok := o.userEvent()
	internal, internalKey := o.internalView()
	if !ok || key == ob.LastKey {
		if ob.Internal && internalKey != ob.InternalKey && o.st.State != StateInitiating {
			// changeComplianceEvents: an internal change the user-safe view does not show.
			ob.InternalKey = internalKey
			ob.InternalSeq++
			internal.Sequence = ob.InternalSeq
			ev := outbound.Event{Type: outbound.TypeInternalChanged, Timestamp: o.now().UTC(), Data: ev.Data}
			if !ok {
				us := o.userStatus()
				ev.Data = outbound.Data{UserID: us.UserID, Status: us.Status, Message: us.Message, Attempt: us.Attempt, Final: us.Final}
			}
			ob.Pending = append(ob.Pending, outbound.Message{ID: internalEventID(o.in.UserID, ob.InternalSeq), Event: ev,
				Internal: internal, ComplianceOnly: true})
			o.trimPending()
		}
		return
	}
	ob.LastKey = key
	if ob.Internal { // changeComplianceEvents: the compliance endpoints' view of this event
		ob.InternalKey = internalKey
		ob.InternalSeq++
		internal.Sequence = ob.InternalSeq
	} else {
		internal = nil
	}
	if ev.Type == outbound.TypeStarted {
		ob.Started = true
	}
	ob.Seq++
	ev.Data.Sequence = ob.Seq
	ev.Timestamp = o.now().UTC()
	ob.Pending = append(ob.Pending, outbound.Message{ID: eventID(o.in.UserID, ob.Seq), Event: ev, Internal: internal})
	o.trimPending()
}

// trimPending drops the oldest queued events beyond MaxPendingEvents.
func (o *onboarding) trimPending() {
	ob := o.st.Outbound
	if over := len(ob.Pending) - MaxPendingEvents; over > 0 {
		// The first is in flight: the oldest of the others go.
		ob.Pending = append(ob.Pending[:1], ob.Pending[1+over:]...)
		ob.Undelivered += over
	}
}

// internalView is the compliance endpoints' view of the onboarding (its Sequence is set
// when queued) and the key that says whether it changed.
func (o *onboarding) internalView() (*outbound.Internal, string) {
	in := &outbound.Internal{State: string(o.st.State), KYCReview: o.st.KYCReview.String(), Escalated: o.st.Escalated}
	if r := o.st.Reason; r != nil {
		in.ReasonCode, in.ReasonMessage = r.Code, r.Message
	}
	key := in.State + "|" + strconv.Itoa(in.ReasonCode) + "|" + in.KYCReview + "|" + strconv.FormatBool(in.Escalated) +
		"|" + strconv.Itoa(o.st.Attempt)
	return in, key
}

// userEvent is the event of the current user-safe view and the key that says whether it
// changed; ok is false while there is nothing to tell (PREPARING).
func (o *onboarding) userEvent() (ev outbound.Event, key string, ok bool) {
	us := o.userStatus()
	d := outbound.Data{UserID: us.UserID, Status: us.Status, Message: us.Message, Attempt: us.Attempt,
		ActionRequired: us.ActionRequired, Final: us.Final}
	switch us.Status {
	case UserStatusPreparing:
		return ev, "", false
	case UserStatusActionRequired:
		ev.Type = outbound.TypeActionRequired
		switch us.ActionRequired {
		case ActionCompleteIdentification, ActionBringOtherDocument:
			d.IdentificationURL = o.st.IdentificationURL
			if !o.st.Outbound.Started && us.ActionRequired == ActionCompleteIdentification {
				ev.Type = outbound.TypeStarted
			}
		case ActionCompletePersonalData:
			if e := o.st.InitError; e != nil {
				d.MissingFields = slices.Clone(e.MissingFields)
			}
		}
	case UserStatusUnderReview:
		ev.Type = outbound.TypeUnderReview
	case UserStatusApproved:
		ev.Type = outbound.TypeCompleted
	default: // CLOSED, EXPIRED, CANCELLED
		ev.Type = outbound.TypeEnded
		if o.st.State == StateCompletedRefused {
			ev.Type = outbound.TypeCompleted
		}
	}
	ev.Data = d
	keyType := ev.Type
	if o.followUp && keyType == outbound.TypeStarted { // changeStartedOnce
		// The started event is the first "action required": the same view read again once
		// it is queued (as action_required) is no change.
		keyType = outbound.TypeActionRequired
	}
	key = keyType + "|" + d.Status + "|" + d.ActionRequired + "|" + strconv.Itoa(d.Attempt) + "|" + o.st.IdentificationID
	return ev, key, true
}

// eventID is the webhook id of the onboarding's event seq: derived from the workflow id
// and the sequence, so every retry and every run after continue-as-new sends the same id,
// and hashed, so the id carries no user id.
func eventID(userID string, seq int) string {
	sum := sha256.Sum256([]byte(WorkflowID(userID) + "/" + strconv.Itoa(seq)))
	return "msg_" + hex.EncodeToString(sum[:16])
}

// internalEventID is the webhook id of the onboarding's compliance-only event seq.
func internalEventID(userID string, seq int) string {
	sum := sha256.Sum256([]byte(WorkflowID(userID) + "/internal/" + strconv.Itoa(seq)))
	return "msg_" + hex.EncodeToString(sum[:16])
}

// eventDeliveryOptions retry a delivery with backoff for the whole retry window.
func eventDeliveryOptions(window time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: window,
		HeartbeatTimeout:       time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Minute,
		},
	}
}

// deliverEvents is the coroutine that delivers the queue, one event at a time, in order.
func (o *onboarding) deliverEvents(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return len(o.st.Outbound.Pending) > 0 || o.handingOff }); err != nil || o.handingOff {
			return // once the run hands its queue over, it schedules no further delivery
		}
		msg := o.st.Outbound.Pending[0]
		actx := workflow.WithActivityOptions(ctx, eventDeliveryOptions(o.policy.EventRetryWindow))
		var res activities.DeliverEventResult
		err := workflow.ExecuteActivity(actx, activities.DeliverEventName,
			activities.DeliverEventInput{Message: msg, Skip: slices.Clone(o.st.Outbound.Gone)}).Get(ctx, &res)
		var canceled *temporal.CanceledError
		if errors.As(err, &canceled) || o.handingOff {
			return // the queue, this event included, belongs to the delivery workflow
		}
		o.delivered(msg, res, err)
	}
}

// delivered records the outcome of one event's delivery and takes it off the queue.
func (o *onboarding) delivered(msg outbound.Message, res activities.DeliverEventResult, err error) {
	ob := o.st.Outbound
	ob.Pending = ob.Pending[1:]
	label := strconv.Itoa(msg.Event.Data.Sequence) + " " + msg.Event.Type
	for _, ep := range res.Gone {
		if !slices.Contains(ob.Gone, ep) {
			ob.Gone = append(ob.Gone, ep)
			o.record(TimelineEntry{Kind: KindEvent, EventType: msg.Event.Type, State: o.st.State,
				Note: "endpoint " + ep + " answered 410 Gone: no further events to it"})
			o.logger.Error("Event endpoint answered 410 Gone; it gets no further events", "endpoint", ep)
		}
	}
	if err != nil {
		ob.Undelivered++
		o.record(TimelineEntry{Kind: KindEvent, EventType: msg.Event.Type, State: o.st.State,
			Note: "event " + label + " not delivered within " + o.policy.EventRetryWindow.String() + ": " + failureText(err)})
		o.logger.Error("Event not delivered within the retry window", "event", label, "error", err)
		return
	}
	// A delivery is counted, not put on the timeline: the timeline keeps what went wrong.
	// Without a live endpoint (none configured, or all gone) nothing was delivered. The
	// counts are of the user-safe events.
	if len(res.Delivered) > 0 && !msg.ComplianceOnly {
		ob.Delivered++
		ob.LastDelivered = label
	}
}

// handOffEvents ends the onboarding without waiting for its events: the last event is
// queued, and the events not delivered yet go to a QESEventDelivery workflow that outlives
// this run (ParentClosePolicy ABANDON), with the same webhook ids in the same order. A new
// onboarding of the user then starts at once instead of joining a run that waits for its
// backend. The delivery in flight, if any, is sent again by the child with its webhook id.
func (o *onboarding) handOffEvents(ctx workflow.Context) {
	if !o.outboundOn() {
		return
	}
	o.emitEvent()
	ob := o.st.Outbound
	if o.followUp && len(ob.Pending) > 0 { // changeDrainEventsAtEnd
		// Most receivers answer within the wait: then the run ends without a child.
		if _, err := workflow.AwaitWithTimeout(ctx, EventDrainWait, func() bool { return len(ob.Pending) == 0 }); err != nil {
			o.logger.Warn("Waiting for the pending events was interrupted", "error", err)
		}
	}
	if len(ob.Pending) == 0 {
		return
	}
	o.handingOff = true
	id := EventDeliveryID(o.in.UserID, workflow.GetInfo(ctx).WorkflowExecution.RunID)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        id,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	in := EventDeliveryInput{Messages: slices.Clone(ob.Pending), Gone: slices.Clone(ob.Gone), RetryWindow: o.policy.EventRetryWindow}
	// The child must have started before this run ends, or its start could be lost.
	err := workflow.ExecuteChildWorkflow(cctx, EventDeliveryWorkflowName, in).GetChildWorkflowExecution().Get(ctx, nil)
	if err != nil {
		ob.Undelivered += len(ob.Pending)
		o.record(TimelineEntry{Kind: KindEvent, State: o.st.State,
			Note: strconv.Itoa(len(ob.Pending)) + " events not handed to their delivery workflow: " + failureText(err)})
		o.logger.Error("Events not handed to their delivery workflow", "events", len(ob.Pending), "error", err)
		ob.Pending = nil
		return
	}
	ob.HandedOff += len(ob.Pending)
	ob.Pending = nil
	o.record(TimelineEntry{Kind: KindEvent, State: o.st.State,
		Note: strconv.Itoa(len(in.Messages)) + " events handed to delivery workflow " + id})
}

// eventDelivery is the delivery state of the status view (nil when the run sends none).
func (o *onboarding) eventDelivery() *EventDelivery {
	ob := o.st.Outbound
	if !o.outboundOn() {
		return nil
	}
	return &EventDelivery{Queued: ob.Seq, Delivered: ob.Delivered, Pending: len(ob.Pending),
		LastDelivered: ob.LastDelivered, Undelivered: ob.Undelivered, Gone: slices.Clone(ob.Gone), HandedOff: ob.HandedOff}
}

// eventDetails is the delivery part of the UI summary.
func (o *onboarding) eventDetails() string {
	ob := o.st.Outbound
	if !o.outboundOn() || ob.Seq == 0 {
		return ""
	}
	d := " — events: " + strconv.Itoa(ob.Delivered) + " delivered, " + strconv.Itoa(len(ob.Pending)) + " pending"
	if len(ob.Gone) > 0 {
		d += ", endpoint gone (410)"
	}
	return d
}
