package cli

import (
	"fmt"
	"strings"

	"github.com/localjobs/localjobs/manifest"
)

// Image pull reasons of a waiting container, as the kubelet's.
const (
	reasonErrImagePull      = "ErrImagePull"
	reasonImagePullBackOff  = "ImagePullBackOff"
	reasonErrImageNeverPull = "ErrImageNeverPull"
	reasonInvalidImageName  = "InvalidImageName"
)

// giveUpAfterPulls is how many pulls in a row must fail with "the image
// does not exist" before run gives up on an image (unless
// --wait-for-image). The kubelet retries for ever, backing off 10 s, 20 s,
// 40 s … up to 300 s, because on a node someone may push the image later
// and nobody is watching. run has a person waiting at a terminal: a
// registry's "not found", "manifest unknown" or "pull access denied" is an
// answer, not a hiccup, and a typo in an image name should not cost five
// minutes. The first retry (10 s after the first failure) confirms the
// answer, covering a tag pushed moments ago or a registry that briefly
// answers 404; a third try would cost another 20 s for nothing. Network
// errors (no registry reachable) never count: those may heal.
const giveUpAfterPulls = 2

// pullFailure is one failed pull of a container's image: the waiting
// reason and the engine's message.
type pullFailure struct{ reason, message string }

// imageMissing reports whether an engine's pull error says the image does
// not exist (or cannot be read with the credentials at hand), as opposed
// to a network failure that may heal.
func imageMissing(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{
		"pull access denied", "repository does not exist", "manifest unknown", "not found",
		"does not exist", "no such image", "name unknown", "unauthorized", "denied:",
	} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// giveUpOnImage is run's decision about a container whose image pulls
// failed (fails, oldest first): true when the image will not appear by
// waiting. An invalid image name or a missing image under
// imagePullPolicy Never ends it at once (no pull will ever be made; with
// --wait-for-image a Never image may still be loaded by hand); otherwise
// the last giveUpAfterPulls pulls must all have said the image does not
// exist, and waitForImage must be unset.
func giveUpOnImage(fails []pullFailure, waitForImage bool) bool {
	if len(fails) == 0 {
		return false
	}
	last := fails[len(fails)-1]
	switch last.reason {
	case reasonInvalidImageName:
		return true
	case reasonErrImageNeverPull:
		return !waitForImage
	}
	if waitForImage || len(fails) < giveUpAfterPulls {
		return false
	}
	for _, f := range fails[len(fails)-giveUpAfterPulls:] {
		if f.reason != reasonErrImagePull || !imageMissing(f.message) {
			return false
		}
	}
	return true
}

// pullWatch follows the image pulls of run's containers through the
// pods' statuses: each new ErrImagePull (or other pull failure) is one
// failed pull.
type pullWatch struct {
	last  map[string]string        // podUID/container → last waiting reason
	fails map[string][]pullFailure // podUID/container → failures
	said  map[string]bool          // messages already printed
}

// imageProblem is a pull failure to report: new says it was not reported
// before, giveUp that run should stop waiting for the image.
type imageProblem struct {
	pod, container, image, reason, message string
	new, giveUp                            bool
}

// observe takes in a pod's new status and returns the pull failures it
// shows.
func (w *pullWatch) observe(p *manifest.Pod, waitForImage bool) []imageProblem {
	if w.last == nil {
		w.last, w.fails, w.said = map[string]string{}, map[string][]pullFailure{}, map[string]bool{}
	}
	images := map[string]string{}
	for _, c := range append(append([]manifest.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		images[c.Name] = c.Image
	}
	var out []imageProblem
	for _, cs := range append(append([]manifest.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		k := p.UID + "/" + cs.Name
		reason, msg := "", ""
		if wt := cs.State.Waiting; wt != nil {
			reason, msg = wt.Reason, wt.Message
		}
		prev := w.last[k]
		w.last[k] = reason
		switch reason {
		case reasonErrImagePull, reasonErrImageNeverPull, reasonInvalidImageName:
		case reasonImagePullBackOff:
			continue
		default:
			delete(w.fails, k) // started, or something else: the streak ends
			continue
		}
		if prev == reason {
			continue // the same failure, seen again
		}
		w.fails[k] = append(w.fails[k], pullFailure{reason, msg})
		said := w.said[k+"\x00"+msg]
		w.said[k+"\x00"+msg] = true
		out = append(out, imageProblem{pod: p.Name, container: cs.Name, image: images[cs.Name], reason: reason, message: msg,
			new: !said, giveUp: giveUpOnImage(w.fails[k], waitForImage)})
	}
	return out
}

// String says why run gave up on an image.
func (p imageProblem) String() string {
	switch p.reason {
	case reasonInvalidImageName:
		return fmt.Sprintf("pod/%s: image %q is not a valid image name", p.pod, p.image)
	case reasonErrImageNeverPull:
		return fmt.Sprintf("pod/%s: image %q is not present and imagePullPolicy is Never (load it, then run again; or run with --wait-for-image)", p.pod, p.image)
	}
	return fmt.Sprintf("pod/%s: image %q does not exist or cannot be pulled (the registry said so %d times); not waiting for it (run with --wait-for-image to keep trying)", p.pod, p.image, giveUpAfterPulls)
}
