package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/localjobs/localjobs/manifest"
	"github.com/localjobs/localjobs/runner"
)

// RecordEvent stores an event about ref, from component, and publishes it.
func (c *Controller) RecordEvent(ctx context.Context, ref manifest.ObjectReference, typ, reason, msg, component string) {
	e := c.NewEvent(ref, typ, reason, msg, component)
	if err := c.Store.AddEvent(ctx, e); err != nil {
		c.logger().Error("record event", "object", ref.Kind+" "+ref.Namespace+"/"+ref.Name, "type", typ, "reason", reason, "message", msg, "error", err)
	}
	c.publish(runner.Change{Event: e})
}

// NewEvent returns an event about ref from component, named and timed
// now (kubelet.Host); RecordEvent stores and publishes one.
func (c *Controller) NewEvent(ref manifest.ObjectReference, typ, reason, msg, component string) *manifest.Event {
	now := c.now()
	return &manifest.Event{
		TypeMeta: manifest.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta: manifest.ObjectMeta{
			Name:              fmt.Sprintf("%s.%x", ref.Name, now.UnixNano()),
			Namespace:         ref.Namespace,
			UID:               newUID(),
			CreationTimestamp: manifest.Time{Time: now.Truncate(time.Second)},
		},
		InvolvedObject: ref,
		Reason:         reason,
		Message:        msg,
		Source:         manifest.EventSource{Component: component, Host: c.NodeName},
		FirstTimestamp: manifest.Time{Time: now.Truncate(time.Second)},
		LastTimestamp:  manifest.Time{Time: now.Truncate(time.Second)},
		Count:          1,
		Type:           typ,
		EventTime:      manifest.MicroTime{Time: now},
	}
}

// Subscribe starts a subscription to every change; Close ends it.
func (c *Controller) Subscribe() *runner.Subscription { return c.SubscribeFilter(nil) }

// SubscribeFilter starts a subscription to the changes keep accepts (nil =
// all); keep runs in the publisher and must be quick.
func (c *Controller) SubscribeFilter(keep func(*runner.Change) bool) *runner.Subscription {
	return c.hub.SubscribeQueue(keep, c.WatchQueue)
}

// Publish delivers a change (kubelet.Host, jobcontroller.Host).
func (h hooks) Publish(ch runner.Change) { h.publish(ch) }

// publish delivers a change to the subscribers, tells OnJobChange about a
// Job, and wakes the Job of a changed pod: any change of a Job's pod (a
// container restart under OnFailure, a pod being stopped or finishing…)
// may change the Job's status.
func (c *Controller) publish(ch runner.Change) {
	c.hub.Publish(ch)
	if ch.Job != nil && c.OnJobChange != nil {
		c.OnJobChange(ch.Job, ch.Deleted)
	}
	if ch.Record != nil {
		if uid := controllerUID(&ch.Record.Pod.ObjectMeta, "Job"); uid != "" {
			c.kickJob(uid)
		}
	}
}
