"""Bradley-Terry strengths from blind votes, with 95% confidence intervals.

The model: model i beats model j with probability p_i / (p_i + p_j). A vote for the best
of n panels is n - 1 wins of the winner over each other model of the run; a tie (or "both
bad") is half a win each way, as Chatbot Arena counts them.

The fit is the minorization-maximization iteration of Hunter (2004), "MM algorithms for
generalized Bradley-Terry models", Annals of Statistics 32(1), eq. (3):
p_i <- W_i / sum_j n_ij / (p_i + p_j). Its intervals come from the Fisher information of
theta = log p at the estimate, I_ii = sum_j n_ij p_i p_j / (p_i + p_j)^2 and I_ij = -that
term for one pair, inverted.

A model that won (or lost) every game it played has no finite maximum-likelihood
strength, which is the usual case with a handful of votes. So each model also plays
`prior` virtual games against a fixed reference of strength 1, half won and half lost:
a weak pull towards the middle that a few real votes outweigh. With `prior=0` the pure
maximum-likelihood fit is returned (defined when every model is connected to every other
through games).

Strengths are reported relative to the models' average (sum of theta = 0), with the
covariance projected the same way: an interval says how a model stands against the
others on the board, not how sure we are of the virtual reference's level.
"""

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal
# Display scale: Elo points, 400 per factor of ten in odds, centred on 1000.
ELO_PER_THETA = 400 / math.log(10)
ELO_CENTRE = 1000


@dataclass(frozen=True)
class Strength:
    model: str
    theta: float  # log strength; 0 is the average of the models fitted together
    se: float  # its standard error
    wins: float  # ties count half
    games: float

    @property
    def low(self):
        return self.theta - Z95 * self.se

    @property
    def high(self):
        return self.theta + Z95 * self.se

    @property
    def rating(self):
        return elo(self.theta)

    @property
    def rating_low(self):
        return elo(self.low)

    @property
    def rating_high(self):
        return elo(self.high)


def elo(theta):
    return ELO_CENTRE + ELO_PER_THETA * theta


def pairs_from_vote(models, winner=None):
    """The (winner, loser, weight) games one vote stands for.

    `models`: the distinct models shown in the run; `winner`: the model voted best, or
    None for a tie (both bad counts as a tie too).
    """
    models = list(dict.fromkeys(models))
    if winner is not None:
        return [(winner, other, 1.0) for other in models if other != winner]
    games = []
    for n, a in enumerate(models):
        for b in models[n + 1 :]:
            games += [(a, b, 0.5), (b, a, 0.5)]
    return games


def fit(games, *, prior=1.0, tolerance=1e-10, max_iterations=100_000):
    """Strengths from (winner, loser, weight) games, strongest first."""
    models = sorted({m for w, loser, _ in games for m in (w, loser)})
    if not models:
        return []
    index = {m: n for n, m in enumerate(models)}
    k = len(models)
    wins = [0.0] * k
    played = [[0.0] * k for _ in range(k)]  # games between i and j, both ways
    for winner, loser, weight in games:
        if winner == loser or weight <= 0:
            continue
        i, j = index[winner], index[loser]
        wins[i] += weight
        played[i][j] += weight
        played[j][i] += weight

    p = [1.0] * k
    for _ in range(max_iterations):
        new = []
        for i in range(k):
            denominator = sum(played[i][j] / (p[i] + p[j]) for j in range(k) if played[i][j])
            numerator = wins[i]
            if prior:
                # The reference has strength 1; prior/2 wins and prior/2 losses against it.
                numerator += prior / 2
                denominator += prior / (p[i] + 1.0)
            new.append(numerator / denominator if denominator else 1.0)
        if not prior:
            # Scale is free without the reference: fix the geometric mean at 1.
            mean = math.exp(sum(math.log(x) for x in new) / k)
            new = [x / mean for x in new]
        change = max(abs(math.log(a) - math.log(b)) for a, b in zip(new, p, strict=True))
        p = new
        if change < tolerance:
            break

    information = [[0.0] * k for _ in range(k)]
    for i in range(k):
        for j in range(k):
            if i != j and played[i][j]:
                term = played[i][j] * p[i] * p[j] / (p[i] + p[j]) ** 2
                information[i][j] -= term
                information[i][i] += term
        if prior:
            information[i][i] += prior * p[i] / (p[i] + 1.0) ** 2
    if prior:
        covariance = invert(information)
    else:
        # The information is singular (the scale is free): the pseudo-inverse gives the
        # covariance under sum(theta) = 0. For a Laplacian-like L whose null space is the
        # ones vector, pinv(L) = inv(L + J/k) - J/k.
        shifted = [[information[i][j] + 1.0 / k for j in range(k)] for i in range(k)]
        covariance = [[v - 1.0 / k for v in row] for row in invert(shifted)]
    # Centre: theta_i - mean(theta), whose variance is (P C P)_ii with P = I - J/k.
    thetas = [math.log(x) for x in p]
    mean_theta = sum(thetas) / k
    row_means = [sum(row) / k for row in covariance]
    grand_mean = sum(row_means) / k
    result = [
        Strength(
            model=m,
            theta=thetas[i] - mean_theta,
            se=math.sqrt(max(covariance[i][i] - 2 * row_means[i] + grand_mean, 0.0)),
            wins=wins[i],
            games=sum(played[i]),
        )
        for m, i in index.items()
    ]
    return sorted(result, key=lambda s: (-s.theta, s.model))


def invert(matrix):
    """Gauss-Jordan inverse with partial pivoting (the matrices here are at most ~40 wide)."""
    k = len(matrix)
    a = [list(row) + [1.0 if i == j else 0.0 for j in range(k)] for i, row in enumerate(matrix)]
    for col in range(k):
        pivot = max(range(col, k), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-300:
            raise ValueError("singular matrix: some models are not connected by any game")
        a[col], a[pivot] = a[pivot], a[col]
        scale = a[col][col]
        a[col] = [v / scale for v in a[col]]
        for r in range(k):
            if r != col and a[r][col]:
                factor = a[r][col]
                a[r] = [v - factor * w for v, w in zip(a[r], a[col], strict=True)]
    return [row[k:] for row in a]


def pareto_front(points):
    """The points (name, cost, strength) no other point beats: as cheap or cheaper and as
    strong or stronger, better in one. Returned by cost, cheapest first."""
    front = []
    for name, cost, strength in points:
        dominated = any(
            c <= cost and s >= strength and (c < cost or s > strength) for other, c, s in points if other != name
        )
        if not dominated:
            front.append((name, cost, strength))
    return sorted(front, key=lambda point: (point[1], -point[2]))
