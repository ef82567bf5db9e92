"""The operator's web console and Prometheus /metrics, served by `employai run` on the bot's own event loop
(`employai.console.server.run_console`). Nothing here is imported by the call runtime but `ports`."""
