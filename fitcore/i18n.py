"""The page's strings in English and Chinese: one catalog per language with the same keys."""

from __future__ import annotations

from collections.abc import Mapping

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
    "n_points_help": "Points evenly spaced on [−1, 1], like the tutorial's linspace(−1, 1, 200).",
    "noise": "Noise",
    "noise_help": "Each point gets noise × U[0, 1) added, like the tutorial's "
    "0.2 * torch.rand(...).",
    "test_fraction": "Held-out test share",
    "test_fraction_help": "Points kept out of training; their loss shows whether the fit "
    "generalises.",
    "seed": "Random seed",
    "seed_help": "Seeds the noise, the initial weights and the minibatches: same seed, same run.",
    "model": "Model",
    "model_help": "linear: ŷ = w·x + b. poly: a polynomial of the chosen degree. "
    "mlp: a neural network (the tutorial's 1-10-1 ReLU net).",
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
    "optimizer": "Optimizer",
    "optimizer_help": "How gradients become updates. SGD is the tutorial's; Adam adapts the step "
    "size per weight.",
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
    "bad_hidden": "Hidden layer widths must be 1 to {layers} whole numbers from {lo} to {hi}, "
    "separated by commas (e.g. 10 or 32,32). Still using {value}.",
    "internal_error": "Something went wrong on our side; your settings are kept. Try Reset.",
    "need_upload": "Upload a CSV file to train on your own data; until then the previous "
    "dataset stays.",
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
    "teacher_panel": "For teachers",
    "teacher_text": "Tick the controls to hide from students (their values still apply), then "
    "copy the link.",
    "autoplay": "Start training when the link opens",
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
    "n_points_help": "在 [−1, 1] 上均匀取点，和教程里的 linspace(−1, 1, 200) 一样。",
    "noise": "噪声",
    "noise_help": "每个点加上 噪声 × U[0, 1)，和教程里的 0.2 * torch.rand(...) 一样。",
    "test_fraction": "测试集比例",
    "test_fraction_help": "不参与训练的点；它们的损失能看出拟合是否具有泛化能力。",
    "seed": "随机种子",
    "seed_help": "决定噪声、初始权重和小批量的抽取：种子相同，训练过程就完全相同。",
    "model": "模型",
    "model_help": "linear：ŷ = w·x + b。poly：指定次数的多项式。"
    "mlp：神经网络（教程里的 1-10-1 ReLU 网络）。",
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
    "optimizer": "优化器",
    "optimizer_help": "如何把梯度变成参数更新。教程用的是 SGD；Adam 会为每个权重自适应地调整步长。",
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
    "bad_hidden": "隐藏层宽度必须是 1 到 {layers} 个 {lo} 到 {hi} 之间的整数，用逗号分隔"
    "（例如 10 或 32,32）。暂时仍使用 {value}。",
    "internal_error": "程序内部出了点问题；你的设置都还在。试试点“重置”。",
    "need_upload": "上传一个 CSV 文件即可用你自己的数据训练；在那之前仍使用之前的数据集。",
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
    "teacher_panel": "教师专用",
    "teacher_text": "勾选要对学生隐藏的控件（它们的取值仍然有效），然后复制链接。",
    "autoplay": "打开链接时自动开始训练",
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
