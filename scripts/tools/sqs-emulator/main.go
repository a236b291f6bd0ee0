// Command sqs-emulator serves goaws's SQS API on a loopback address only.
//
// goaws's own command binds every interface; the app tests must not listen
// beyond loopback, so this launcher mounts the same router on the address
// given by -addr. It also gives the queue counts SQS's meaning (sqsCounts).
package main

import (
	"flag"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/Admiral-Piett/goaws/app/conf"
	"github.com/Admiral-Piett/goaws/app/gosqs"
	"github.com/Admiral-Piett/goaws/app/router"
)

// visibilitySweep is how often expired receipts are returned to the queue
// (and, past maxReceiveCount, moved to the dead-letter queue).
const visibilitySweep = time.Second

func main() {
	addr := flag.String("addr", "127.0.0.1:4100", "loopback host:port to listen on")
	config := flag.String("config", "", "goaws YAML configuration file")
	flag.Parse()

	conf.LoadYamlConfig(*config, "Local")
	go gosqs.PeriodicTasks(visibilitySweep, make(chan bool))

	slog.Info("sqs emulator listening", "addr", *addr)
	if err := http.ListenAndServe(*addr, sqsCounts(router.New())); err != nil {
		slog.Error("sqs emulator stopped", "err", err)
		os.Exit(1)
	}
}
