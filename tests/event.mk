# tests of Async tasks and events
