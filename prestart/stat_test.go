package prestart

import "syscall"

type syscallStat = syscall.Stat_t
