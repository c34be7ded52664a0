"""Analytics: the dashboard's and the API's figures over conversations, answers and tickets."""
