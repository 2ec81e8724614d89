/**
 * Distributed tests written in Java: a {@link dev.conductor.scenario.Scenario} of named
 * {@link dev.conductor.scenario.Tester testers}, each bound to a player and playing its own
 * {@link dev.conductor.scenario.Script} beside the others. Every call on a tester is a step, run
 * at once and reported (commands, spawned processes and what to do with them, files both ways,
 * barriers, checks, your own code); the run gives the same event log, transcripts and reports
 * as a test file run by {@code conduct}, and a {@link dev.conductor.scenario.ScenarioResult}
 * whose {@link dev.conductor.scenario.ScenarioResult#assertPassed()} fails a JUnit test with a
 * readable summary. The guide is {@code docs/SCENARIOS.md}.
 */
package dev.conductor.scenario;
