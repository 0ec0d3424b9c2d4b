"""quizapp."""
