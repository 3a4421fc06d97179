package manifest

import (
	"net"
	"strings"
)

// validatePodSpec checks a pod spec; in a Job template (job set) the
// restartPolicy is left to validateJobSpec, which allows fewer values.
func validatePodSpec(e *errs, s *PodSpec, p fieldPath, job bool) {
	volumes := validateVolumes(e, s.Volumes, p.child("volumes"))

	if len(s.Containers) == 0 {
		e.required(p.child("containers"), "")
	}
	names := map[string]bool{}
	for i := range s.InitContainers {
		validateContainer(e, &s.InitContainers[i], p.child("initContainers").index(i), volumes, names, true)
	}
	for i := range s.Containers {
		validateContainer(e, &s.Containers[i], p.child("containers").index(i), volumes, names, false)
	}

	switch s.RestartPolicy {
	case RestartPolicyAlways, RestartPolicyOnFailure, RestartPolicyNever:
	case "":
		if job {
			break
		}
		e.required(p.child("restartPolicy"), "")
	default:
		if !job {
			e.notSupported(p.child("restartPolicy"), s.RestartPolicy, RestartPolicyAlways, RestartPolicyOnFailure, RestartPolicyNever)
		}
	}
	e.oneOf(p.child("dnsPolicy"), s.DNSPolicy, "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
	if s.DNSPolicy == "None" && (s.DNSConfig == nil || len(s.DNSConfig.Nameservers) == 0) {
		e.required(p.child("dnsConfig").child("nameservers"), "must provide at least one DNS nameserver when dnsPolicy is None")
	}
	if c := s.DNSConfig; c != nil {
		if len(c.Nameservers) > 3 {
			e.invalid(p.child("dnsConfig").child("nameservers"), strings.Join(c.Nameservers, " "), "must not have more than 3 nameservers")
		}
		for i, ns := range c.Nameservers {
			if net.ParseIP(ns) == nil {
				e.invalid(p.child("dnsConfig").child("nameservers").index(i), ns, "must be valid IP address")
			}
		}
		if len(c.Searches) > 32 {
			e.invalid(p.child("dnsConfig").child("searches"), strings.Join(c.Searches, " "), "must not have more than 32 search paths")
		}
	}
	e.nonNegative(p.child("terminationGracePeriodSeconds"), s.TerminationGracePeriodSeconds)
	if a := s.ActiveDeadlineSeconds; a != nil && (*a < 1 || *a > 1<<31-1) {
		e.invalid(p.child("activeDeadlineSeconds"), *a, "must be between 1 and 2147483647, inclusive")
	}
	if s.Hostname != "" {
		e.invalidEach(p.child("hostname"), s.Hostname, dnsLabelErrors(s.Hostname))
	}
	if s.Subdomain != "" {
		e.invalidEach(p.child("subdomain"), s.Subdomain, dnsLabelErrors(s.Subdomain))
	}
	for i, h := range s.HostAliases {
		hp := p.child("hostAliases").index(i)
		if net.ParseIP(h.IP) == nil {
			e.invalid(hp.child("ip"), h.IP, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
		}
		for j, name := range h.Hostnames {
			e.invalidEach(hp.child("hostnames").index(j), name, dnsSubdomainErrors(name))
		}
	}
	if s.HostPID && s.ShareProcessNamespace != nil && *s.ShareProcessNamespace {
		e.invalid(p.child("shareProcessNamespace"), true, "ShareProcessNamespace and HostPID cannot both be enabled")
	}
	for i, ref := range s.ImagePullSecrets {
		if ref.Name == "" {
			e.required(p.child("imagePullSecrets").index(i).child("name"), "")
		}
	}
}
