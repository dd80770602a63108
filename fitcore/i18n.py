"""The page's strings in English and Chinese: one catalog per language with the same keys."""

from __future__ import annotations

from collections.abc import Mapping

from fitcore.upload import MESSAGES

EN: dict[str, str] = {
    "page_title": "FitLab: watch gradient descent fit a curve",
    "title": "FitLab",
    "subtitle": "Watch PyTorch fit a model to noisy points by gradient descent: the curve is "
    "redrawn "
    "as it learns and the loss falls beside it.",
    "language": "Language",
    # sidebar groups
    "g_preset": "Start from",
    "g_data": "Data",
    "g_model": "Model",
    "g_training": "Training",
    "g_display": "Display",
    "preset": "Preset",
    "preset_help": "The tutorial's two scripts, or your own settings.",
    "preset_custom": "My settings",
    "preset_blog-linear": "Tutorial: straight line (y = 2x + 5)",
    "preset_blog-quadratic": "Tutorial: parabola (y = x²)",
    # fields
    "dataset": "Dataset",
    "dataset_help": "The function the noisy points are drawn from, or your own CSV file.",
    "ds_linear": "Line: y = 2x + 5",
    "ds_quadratic": "Parabola: y = x²",
    "ds_sine": "Sine: y = sin(πx)",
    "ds_cubic": "Cubic: y = x³ − 0.5x",
    "ds_abs": "V shape: y = |x|",
    "ds_step": "Step: y = [x > 0]",
    "ds_bump": "Bump: y = exp(−(x/0.3)²)",
    "ds_sawtooth": "Sawtooth",
    "ds_csv": "My own data (CSV)",
    "dsd_linear": "The tutorial's first example; a straight line is all it takes.",
    "dsd_quadratic": "The tutorial's second example; a line cannot bend, a network can.",
    "dsd_sine": "One full wave; needs several hinges or a smooth activation.",
    "dsd_cubic": "An S-shape with two turns.",
    "dsd_abs": "One sharp corner: exactly one ReLU hinge.",
    "dsd_step": "A jump that smooth models can only approximate.",
    "dsd_bump": "A narrow bump in the middle.",
    "dsd_sawtooth": "Three teeth: hard for small networks.",
    "dsd_csv": "Upload a CSV file with x and y columns.",
    "n_points": "Number of points",
    "n_points_help": "Points evenly spaced on [−1, 1], like the tutorial's "
    "`torch.linspace(-1, 1, 200)`.",
    "noise": "Noise",
    "noise_help": "Each point gets noise × U[0, 1) added, like the tutorial's "
    "`0.2 * torch.rand(...)`.",
    "test_fraction": "Held-out test share",
    "test_fraction_help": "Points kept out of training; their loss shows whether the fit "
    "generalises.",
    "seed": "Random seed",
    "seed_help": "Seeds the noise, the initial weights and the minibatches: same seed, same run.",
    "model": "Model",
    "model_help": "Line: ŷ = w·x + b. Polynomial: a polynomial of the chosen degree. "
    "Neural network: a multilayer perceptron (the tutorial's 1-10-1 ReLU net).",
    "m_linear": "Line",
    "m_poly": "Polynomial",
    "m_mlp": "Neural network",
    "degree": "Polynomial degree",
    "degree_help": "Highest power of x.",
    "hidden": "Hidden layer widths",
    "hidden_help": "Neurons per hidden layer, separated by commas: 10 is the tutorial's net, "
    "32,32 is two layers of 32.",
    "activation": "Activation function",
    "activation_help": "The nonlinearity after each hidden layer; ReLU is the tutorial's.",
    "act_relu": "ReLU (rectified linear unit)",
    "act_tanh": "tanh (hyperbolic tangent)",
    "act_sigmoid": "sigmoid (logistic S-curve)",
    "act_leaky_relu": "Leaky ReLU (small slope below zero)",
    "act_gelu": "GELU (Gaussian error linear unit)",
    "act_elu": "ELU (exponential linear unit)",
    "act_silu": "SiLU (sigmoid linear unit)",
    "optimizer": "Optimizer",
    "optimizer_help": "How gradients become updates. SGD is the tutorial's; Adam adapts the step "
    "size per weight.",
    "opt_sgd": "SGD (plain gradient descent)",
    "opt_adam": "Adam (adaptive step per weight)",
    "opt_adamw": "AdamW (Adam with decoupled weight decay)",
    "opt_rmsprop": "RMSprop (steps scaled by recent gradient size)",
    "opt_adagrad": "Adagrad (steps shrink as gradients add up)",
    "lr": "Learning rate",
    "lr_help": "Size of each step down the gradient. Too small: slow. Too large: the loss "
    "blows up.",
    "momentum": "Momentum",
    "momentum_help": "Keeps a share of the previous step; smooths and speeds up SGD.",
    "weight_decay": "Weight decay",
    "weight_decay_help": "An L2 penalty that pulls weights towards zero.",
    "batch_size": "Batch size",
    "batch_size_help": "0 = all points every step (the tutorial). Otherwise each step uses a "
    "random minibatch of this many points.",
    "loss": "Loss function",
    "loss_help": "MSE squares the errors (the tutorial's); L1 takes their size; Huber is "
    "quadratic near zero and linear far away, so outliers pull less.",
    "l_mse": "MSE (mean squared error)",
    "l_l1": "L1 (mean absolute error)",
    "l_huber": "Huber",
    "steps": "Training steps",
    "steps_help": "Number of optimizer updates.",
    "every": "Draw every … steps",
    "every_help": "A new frame every this many updates (the tutorial draws every 100).",
    "speed": "Speed",
    "speed_help": "Frames per second while training; max trains as fast as the server can and "
    "draws about 10 frames a second.",
    "sp_slow": "Slow",
    "sp_normal": "Normal",
    "sp_fast": "Fast",
    "sp_max": "Max",
    "log_loss": "Log scale for the loss",
    "show_truth": "Show the true function",
    "show_reference": "Show the least-squares fit",
    "show_units": "Show each hidden unit",
    "upload": "CSV file with x and y columns",
    "upload_help": "Comma, semicolon or tab separated; UTF-8 or GBK; at most {rows} rows.",
    # buttons and status
    "train": "Train",
    "resume": "Resume",
    "again": "Train again",
    "pause": "Pause",
    "step": "Step",
    "reset": "Reset",
    "status": "step {step} / {steps}",
    "train_loss": "Training loss",
    "test_loss": "Test loss",
    "w": "w (slope)",
    "b": "b (intercept)",
    "grad_norm": "Gradient size",
    # messages
    "restarted": "Settings changed: training starts again from step 0.",
    "diverged": "The loss became infinite at step {step}: the learning rate {lr} is too high, so "
    "each step overshoots further. The last good fit stays on screen. Try a learning rate of "
    "{suggestion}.",
    "use_suggestion": "Use learning rate {suggestion}",
    "finished": "Done: {steps} steps.",
    "link_warnings": "Some settings in the link could not be used:",
    # one line per link warning; {key} is the query parameter, {value} what the link gave
    "warn_unknown": "{key}: unknown parameter, ignored",
    "warn_repeated": "{key}: given {count} times, using the last ({value})",
    "warn_invalid": "{key}={value}: not a valid value, using {used}",
    "warn_range": "{key}={value}: out of range, using {used}",
    "warn_choice": "{key}={value}: not one of {choices}, ignored",
    "warn_autoplay": "{key}={value}: use 1 or 0, using 0",
    "warn_hide": "{key}={value}: no such control, ignored",
    "bad_hidden": "Hidden layer widths must be 1 to {layers} whole numbers from {lo} to {hi}, "
    "separated by commas (e.g. 10 or 32,32). Still using {value}.",
    "internal_error": "Something went wrong on our side; your settings are kept. Try Reset.",
    "need_upload": "Upload a CSV file in the sidebar (Data) to train on your own points.",
    # charts: "chart_" + a key of charts.DEFAULT_LABELS
    "chart_fit_title": "Data and fitted curve",
    "chart_x": "x",
    "chart_y": "y",
    "chart_train": "training points",
    "chart_test": "test points",
    "chart_added": "added points",
    "chart_model": "model",
    "chart_truth": "true function",
    "chart_reference": "least squares",
    "chart_units": "hidden units",
    "chart_loss_title": "Loss during training",
    "chart_step": "step",
    "chart_loss": "loss",
    "chart_loss_train": "training loss",
    "chart_loss_test": "test loss",
    "chart_series": "Curve",
    "chart_outlier": "outlier",
    "chart_marker": "Point",
    "chart_landscape_title": "Loss landscape",
    "chart_w": "w (slope)",
    "chart_b": "b (intercept)",
    "chart_path": "descent path",
    "chart_current": "now",
    "chart_minimum": "least-squares minimum",
    # panels
    "model_panel": "The model",
    "params_count": "{count} trainable parameters",
    "equation": "Current equation",
    "how_panel": "How it works",
    "how_text": "Every step repeats three lines of PyTorch:\n\n"
    "1. `optimizer.zero_grad()` clears the gradients left from the previous step "
    "(PyTorch adds gradients up otherwise).\n"
    "2. `loss.backward()` runs backpropagation: it computes how the loss changes with each "
    "weight.\n"
    "3. `optimizer.step()` moves every weight a little against its gradient, "
    "scaled by the learning rate.\n\n"
    "The loss is the mean squared error between the prediction ŷᵢ and the data yᵢ:",
    "how_update": "and plain gradient descent updates each weight θ by",
    "share_panel": "Share this setup",
    "share_text": "This link opens the page with exactly these settings and the same run:",
    "share_not_carried": "The link carries the settings, not the points: an uploaded file and "
    "points you removed or added stay on this page. Whoever opens it starts from the generated "
    "data, or uploads the same file.",
    "g_more": "More settings",
    "teacher_panel": "For teachers",
    "teacher_text": "Tick the controls to hide from students (their values still apply), then "
    "copy the link.",
    "autoplay": "Start training when the link opens",
    # upload (the upload_<code> messages come from fitcore.upload.MESSAGES)
    "x_column": "Column for x",
    "y_column": "Column for y",
    "upload_kept": "The previous data is kept.",
    "upload_ok": "{rows} points from {name}.",
    "upload_dropped": "{dropped} rows were skipped (blank, text, NaN or inf).",
    "upload_scaled": "For training, x is scaled to [−1, 1] and y to mean 0 and spread 1, so "
    "the usual learning rates work; charts and coefficients are in your own units, losses in "
    "the scaled units.",
    # editing points
    "remove_points": "Remove selected ({n})",
    "add_outlier": "Add an outlier",
    "undo_edits": "Restore the data",
    "edit_hint": "Click points on the chart (shift-click for several) to select them. Add an "
    "outlier and compare MSE with L1 or Huber: MSE bends towards it, L1 hardly moves, Huber "
    "goes half as far as MSE.",
    # replay
    "replay": "Replay",
    "replay_help": "Scrub back through the stored frames; Train resumes from the step shown.",
    # views
    "landscape_panel": "Loss landscape",
    "landscape_text": "Each (w, b) pair is one possible line; the colour is its loss. Gradient "
    "descent walks downhill from the start to the least-squares minimum (×). A long, narrow "
    "valley makes the path zig-zag.",
    "race_panel": "Race",
    "race_text": "Train several variants on the same data from the same initial weights, all in "
    "one batched pass. Notice how a small learning rate crawls and a large one overshoots or "
    "blows up.",
    "race_kind": "Compare",
    "race_lr": "learning rates",
    "race_optimizer": "optimizers",
    "race_need_two": "Choose at least two to compare.",
    "race_go": "Run the race",
    "race_full_batch": "A race uses all points every step (batch size 0).",
    "code_panel": "Show me the code",
    "code_text": "The same run as a plain PyTorch script, like the tutorial's. Run it with "
    "`python`: it prints the same losses as this page.",
    "download_script": "Download the script",
    "download_panel": "Downloads",
    "download_text": "The data, the current curve, the loss history and the trained weights "
    "(a PyTorch `state_dict` at the step shown).",
    "download_data": "Data (CSV)",
    "download_curve": "Curve (CSV)",
    "download_loss": "Loss history (CSV)",
    "download_weights": "Weights (.pt)",
    "units_text": "Each faint line is one hidden unit's output times its weight; the model's "
    "curve is their sum plus a bias. With ReLU every unit is a hinge, so the fit is a sum of "
    "hinges: watch the bends move as the network learns.",
    "reference_text": "The dashed line is the best fit that exists for this model, solved in "
    "closed form (least squares). Gradient descent approaches it step by step; its loss is the "
    "dashed line on the loss chart.",
    **{f"upload_{code}": message for code, message in MESSAGES.items()},
}

ZH: dict[str, str] = {
    "page_title": "FitLab：看梯度下降如何拟合曲线",
    "title": "FitLab",
    "subtitle": "看 PyTorch 用梯度下降把模型拟合到带噪声的数据点上：曲线随学习过程不断重画，"
    "损失在旁边逐步下降。",
    "language": "语言",
    "g_preset": "从这里开始",
    "g_data": "数据",
    "g_model": "模型",
    "g_training": "训练",
    "g_display": "显示",
    "preset": "预设",
    "preset_help": "教程里的两个脚本，或你自己的设置。",
    "preset_custom": "我的设置",
    "preset_blog-linear": "教程：直线（y = 2x + 5）",
    "preset_blog-quadratic": "教程：抛物线（y = x²）",
    "dataset": "数据集",
    "dataset_help": "带噪声的数据点来自哪个函数，或者上传你自己的 CSV 文件。",
    "ds_linear": "直线：y = 2x + 5",
    "ds_quadratic": "抛物线：y = x²",
    "ds_sine": "正弦：y = sin(πx)",
    "ds_cubic": "三次曲线：y = x³ − 0.5x",
    "ds_abs": "V 形：y = |x|",
    "ds_step": "阶跃：y = [x > 0]",
    "ds_bump": "鼓包：y = exp(−(x/0.3)²)",
    "ds_sawtooth": "锯齿波",
    "ds_csv": "我自己的数据（CSV）",
    "dsd_linear": "教程的第一个例子：一条直线就够了。",
    "dsd_quadratic": "教程的第二个例子：直线弯不过来，神经网络可以。",
    "dsd_sine": "一个完整的波形：需要好几个折点，或者平滑的激活函数。",
    "dsd_cubic": "有两个拐弯的 S 形曲线。",
    "dsd_abs": "只有一个尖角：正好是一个 ReLU 折点。",
    "dsd_step": "一个跳变，平滑的模型只能近似。",
    "dsd_bump": "中间有一个窄窄的鼓包。",
    "dsd_sawtooth": "三个锯齿：小网络很难拟合。",
    "dsd_csv": "上传一个包含 x 列和 y 列的 CSV 文件。",
    "n_points": "数据点个数",
    "n_points_help": "在 [−1, 1] 上均匀取点，和教程里的 `torch.linspace(-1, 1, 200)` 一样。",
    "noise": "噪声",
    "noise_help": "每个点加上 噪声 × U[0, 1)，和教程里的 `0.2 * torch.rand(...)` 一样。",
    "test_fraction": "测试集比例",
    "test_fraction_help": "不参与训练的点；它们的损失能看出拟合是否具有泛化能力。",
    "seed": "随机种子",
    "seed_help": "决定噪声、初始权重和小批量的抽取：种子相同，训练过程就完全相同。",
    "model": "模型",
    "model_help": "直线：ŷ = w·x + b。多项式：指定次数的多项式。"
    "神经网络：多层感知机（教程里的 1-10-1 ReLU 网络）。",
    "m_linear": "直线",
    "m_poly": "多项式",
    "m_mlp": "神经网络",
    "degree": "多项式次数",
    "degree_help": "x 的最高次幂。",
    "hidden": "隐藏层宽度",
    "hidden_help": "每个隐藏层的神经元个数，用逗号分隔："
    "10 就是教程里的网络，32,32 表示两层各 32 个。",
    "activation": "激活函数",
    "activation_help": "每个隐藏层之后的非线性函数；教程用的是 ReLU。",
    "act_relu": "ReLU（线性整流）",
    "act_tanh": "tanh（双曲正切）",
    "act_sigmoid": "sigmoid（S 形逻辑函数）",
    "act_leaky_relu": "Leaky ReLU（负半轴带小斜率的线性整流）",
    "act_gelu": "GELU（高斯误差线性单元）",
    "act_elu": "ELU（指数线性单元）",
    "act_silu": "SiLU（sigmoid 加权线性单元）",
    "optimizer": "优化器",
    "optimizer_help": "如何把梯度变成参数更新。教程用的是 SGD；Adam 会为每个权重自适应地调整步长。",
    "opt_sgd": "SGD（随机梯度下降）",
    "opt_adam": "Adam（为每个权重自适应步长）",
    "opt_adamw": "AdamW（权重衰减解耦的 Adam）",
    "opt_rmsprop": "RMSprop（按近期梯度大小缩放步长）",
    "opt_adagrad": "Adagrad（梯度累积越多，步长越小）",
    "lr": "学习率",
    "lr_help": "每一步沿梯度方向走多远。太小：学得慢；太大：损失会爆炸。",
    "momentum": "动量",
    "momentum_help": "保留上一步的一部分，让 SGD 更平稳、更快。",
    "weight_decay": "权重衰减",
    "weight_decay_help": "L2 正则项，把权重往零拉。",
    "batch_size": "批大小",
    "batch_size_help": "0 表示每一步都用全部数据点（教程的做法）；"
    "否则每一步随机抽取这么多个点作为小批量。",
    "loss": "损失函数",
    "loss_help": "均方误差把误差平方（教程用的）；L1 取误差的绝对值；Huber 在误差小时是二次的、"
    "误差大时是线性的，所以离群点的影响更小。",
    "l_mse": "均方误差（MSE）",
    "l_l1": "平均绝对误差（L1）",
    "l_huber": "Huber 损失",
    "steps": "训练步数",
    "steps_help": "优化器更新参数的次数。",
    "every": "每隔多少步画一次",
    "every_help": "每更新这么多次画一帧（教程是每 100 步画一次）。",
    "speed": "速度",
    "speed_help": "训练时每秒画几帧；“最快”让服务器全速训练，每秒大约画 10 帧。",
    "sp_slow": "慢",
    "sp_normal": "正常",
    "sp_fast": "快",
    "sp_max": "最快",
    "log_loss": "损失用对数坐标",
    "show_truth": "显示真实函数",
    "show_reference": "显示最小二乘拟合",
    "show_units": "显示每个隐藏单元",
    "upload": "包含 x 列和 y 列的 CSV 文件",
    "upload_help": "用逗号、分号或制表符分隔；UTF-8 或 GBK 编码；最多 {rows} 行。",
    "train": "训练",
    "resume": "继续",
    "again": "重新训练",
    "pause": "暂停",
    "step": "单步",
    "reset": "重置",
    "status": "第 {step} / {steps} 步",
    "train_loss": "训练损失",
    "test_loss": "测试损失",
    "w": "w（斜率）",
    "b": "b（截距）",
    "grad_norm": "梯度大小",
    "restarted": "设置已更改：训练从第 0 步重新开始。",
    "diverged": "第 {step} 步时损失变成了无穷大：学习率 {lr} 太高，每一步都冲得更远。"
    "屏幕上保留最后一次正常的拟合。试试把学习率调到 {suggestion}。",
    "use_suggestion": "使用学习率 {suggestion}",
    "finished": "完成：共 {steps} 步。",
    "link_warnings": "链接中的部分设置无法使用：",
    "warn_unknown": "{key}：没有这个参数，已忽略",
    "warn_repeated": "{key}：出现了 {count} 次，使用最后一个（{value}）",
    "warn_invalid": "{key}={value}：不是有效的值，改用 {used}",
    "warn_range": "{key}={value}：超出范围，改用 {used}",
    "warn_choice": "{key}={value}：只能是 {choices} 之一，已忽略",
    "warn_autoplay": "{key}={value}：请用 1 或 0，按 0 处理",
    "warn_hide": "{key}={value}：没有这个控件，已忽略",
    "bad_hidden": "隐藏层宽度必须是 1 到 {layers} 个 {lo} 到 {hi} 之间的整数，用逗号分隔"
    "（例如 10 或 32,32）。暂时仍使用 {value}。",
    "internal_error": "程序内部出了点问题；你的设置都还在。试试点“重置”。",
    "need_upload": "在侧边栏（数据）上传一个 CSV 文件，就能用你自己的数据点训练。",
    "chart_fit_title": "数据与拟合曲线",
    "chart_x": "x",
    "chart_y": "y",
    "chart_train": "训练数据点",
    "chart_test": "测试数据点",
    "chart_added": "新加的点",
    "chart_model": "模型",
    "chart_truth": "真实函数",
    "chart_reference": "最小二乘",
    "chart_units": "隐藏单元",
    "chart_loss_title": "训练过程中的损失",
    "chart_step": "步数",
    "chart_loss": "损失",
    "chart_loss_train": "训练损失",
    "chart_loss_test": "测试损失",
    "chart_series": "曲线",
    "chart_outlier": "离群点",
    "chart_marker": "位置",
    "chart_landscape_title": "损失曲面",
    "chart_w": "w（斜率）",
    "chart_b": "b（截距）",
    "chart_path": "下降路径",
    "chart_current": "当前",
    "chart_minimum": "最小二乘最优点",
    "model_panel": "模型",
    "params_count": "{count} 个可训练参数",
    "equation": "当前的方程",
    "how_panel": "原理",
    "how_text": "每一步都重复三行 PyTorch 代码：\n\n"
    "1. `optimizer.zero_grad()` 清空上一步留下的梯度（否则 PyTorch 会把梯度累加起来）。\n"
    "2. `loss.backward()` 进行反向传播：算出损失随每个权重如何变化。\n"
    "3. `optimizer.step()` 让每个权重沿梯度的反方向移动一小步，步长由学习率决定。\n\n"
    "损失是预测值 ŷᵢ 与数据 yᵢ 之间的均方误差：",
    "how_update": "最简单的梯度下降这样更新每个权重 θ：",
    "share_panel": "分享这个设置",
    "share_text": "打开这个链接会得到完全相同的设置和相同的训练过程：",
    "share_not_carried": "链接只带上设置，不带数据点：上传的文件和你删除或添加的点只留在这个页面。"
    "打开链接的人看到的是生成的数据，或者需要上传同一个文件。",
    "g_more": "更多设置",
    "teacher_panel": "教师专用",
    "teacher_text": "勾选要对学生隐藏的控件（它们的取值仍然有效），然后复制链接。",
    "autoplay": "打开链接时自动开始训练",
    "x_column": "作为 x 的列",
    "y_column": "作为 y 的列",
    "upload_kept": "之前的数据保持不变。",
    "upload_ok": "从 {name} 读入 {rows} 个数据点。",
    "upload_dropped": "跳过了 {dropped} 行（空白、文字、NaN 或 inf）。",
    "upload_scaled": "训练时 x 被缩放到 [−1, 1]，y 被标准化为均值 0、标准差 1，这样常用的学习率都能用；"
    "图表和系数用的是你原来的单位，损失用的是缩放后的单位。",
    "remove_points": "删除选中的点（{n}）",
    "add_outlier": "加一个离群点",
    "undo_edits": "恢复数据",
    "edit_hint": "在图上点击数据点即可选中（按住 Shift 可多选）。加一个离群点，比较均方误差与 L1 或 "
    "Huber 损失：均方误差会被它拉过去，L1 几乎不动，Huber 只移动均方误差的一半左右。",
    "replay": "回放",
    "replay_help": "拖动查看已保存的各帧；点“训练”会从当前显示的步数继续。",
    "landscape_panel": "损失曲面",
    "landscape_text": "每一对 (w, b) 就是一条可能的直线，颜色表示它的损失。梯度下降从起点一路下坡，"
    "走向最小二乘的最优点（×）。又长又窄的山谷会让路径来回折返。",
    "race_panel": "比赛",
    "race_text": "在同样的数据上、从同样的初始权重出发，一次批量地同时训练几个变体。"
    "注意：学习率太小时走得很慢，太大时会冲过头甚至发散。",
    "race_kind": "比较",
    "race_lr": "学习率",
    "race_optimizer": "优化器",
    "race_need_two": "至少选两个来比较。",
    "race_go": "开始比赛",
    "race_full_batch": "比赛时每一步都使用全部数据点（批大小为 0）。",
    "code_panel": "给我看代码",
    "code_text": "同一次训练写成普通的 PyTorch 脚本，和教程里的一样。用 `python` 运行它，"
    "打印出的损失和本页完全相同。",
    "download_script": "下载脚本",
    "download_panel": "下载",
    "download_text": "数据、当前曲线、损失记录，以及训练好的权重（当前步数的 PyTorch `state_dict`）。",
    "download_data": "数据（CSV）",
    "download_curve": "曲线（CSV）",
    "download_loss": "损失记录（CSV）",
    "download_weights": "权重（.pt）",
    "units_text": "每条淡色的线是一个隐藏单元的输出乘以它的权重；模型的曲线就是它们的和再加上偏置。"
    "用 ReLU 时每个单元都是一个折线，所以拟合结果是若干折线之和：看看网络学习时这些折点怎么移动。",
    "reference_text": "虚线是这个模型能达到的最好拟合，用闭式解（最小二乘）直接算出。"
    "梯度下降一步步逼近它；它的损失就是损失图上的那条虚线。",
    "upload_empty": "文件是空的。请上传一个包含两列数字（x 和 y）的 CSV 文件，每行一个点。",
    "upload_too_big": "文件有 {size} 字节，上限是 {limit} 字节。FitLab 最多拟合 {rows} 个点："
    "只保留 x 和 y 两列，并减少行数。",
    "upload_not_text": "无法把文件当作文本读取：请另存为 UTF-8 编码的 CSV"
    "（Excel 中：文件 > 另存为 > CSV UTF-8），再上传。",
    "upload_bad_csv": '无法把文件拆分成行和列：有引号（"）没有闭合，或者某一行太长。请重新保存为 CSV。',
    "upload_too_many_columns": "文件有 {columns} 列，FitLab 最多读取 {limit} 列。只保留 x 和 y 两列后再上传。",
    "upload_no_numeric": "没有任何一列是数字。FitLab 需要两列数字（x 和 y），每行一个点。",
    "upload_one_column": "只有一列（{column}）是数字。请再加一列数字，这样才有 x 和 y。",
    "upload_no_such_column": "没有名为 {column} 的列。请从这些列中选择：{choices}。",
    "upload_not_numeric": "列 {column} 不是数字。请从这些列中选择：{choices}。",
    "upload_too_few_rows": "拟合至少需要 2 行在 {x} 和 {y} 两列都有数字；这个文件只有 {rows} 行"
    "（另有 {dropped} 行因空白、文字、NaN 或 inf 被跳过）。",
    "upload_too_many_rows": "文件有 {rows} 行，FitLab 最多拟合 {limit} 个点。请减少行数，"
    "例如每 {step} 行保留一行，再上传。",
    "upload_constant_x": "所有 x 值（列 {column}）都等于 {value}；拟合需要 x 有变化。请换一列作为 x。",
    "upload_huge_value": "列 {column} 中有一个值为 {value}；FitLab 能处理的数字最大为 {limit}。"
    "请缩放这一列（例如换个单位）后再上传。",
}

CATALOGS: Mapping[str, Mapping[str, str]] = {"en": EN, "zh": ZH}


def catalog(lang: str) -> Mapping[str, str]:
    """The strings for `lang` ('en' or 'zh'); English for anything else."""
    return CATALOGS.get(lang, EN)


def pick_language(requested: str | None, browser_locale: str | None) -> str:
    """The link's lang if given, else Chinese for a zh-* browser, else English."""
    if requested in CATALOGS:
        return requested
    if browser_locale and browser_locale.lower().startswith("zh"):
        return "zh"
    return "en"
