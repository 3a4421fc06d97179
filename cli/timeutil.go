package cli

import "time"

var timeNow = time.Now

func secondsDur(s int64) time.Duration { return time.Duration(s) * time.Second }
